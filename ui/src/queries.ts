// The operations behind the Fleet and Hosts screens, apart from the screens so that
// `npm run bench` times exactly what they send (bench/run.ts imports them).
import { graphql } from './graphql';

/** Fleet screen: the whole screen's data in one query. */
export const FleetQuery = graphql(`
  query FleetScreen {
    fleetSummary {
      hosts
      tdxEnabledHosts
      kvmLoadFailingHosts
      overFullHosts
      tdSlots
      freeVcpus
      tdMemoryMiB
      freeMemoryMiB
      unknownMemoryHosts
      largestPlaceableTdVcpus
      tdxDisabledByReason {
        reason
        hosts
      }
      kvmCapDistribution {
        kvmCapMaxVcpus
        hosts
      }
      byModule {
        ...GroupFields
      }
      byPlatform {
        ...GroupFields
      }
      byKernel {
        ...GroupFields
      }
    }
  }
  fragment GroupFields on FleetSummaryGroup {
    key
    hosts
    tdxEnabledHosts
    kvmLoadFailingHosts
    tdSlots
    freeVcpus
    tdMemoryMiB
    freeMemoryMiB
    largestPlaceableTdVcpus
  }
`);

/** Hosts screen: one page of hosts, filtered and sorted by the server. */
export const HostsQuery = graphql(`
  query HostsScreen($filter: HostFilter, $orderBy: HostOrder, $first: Int, $after: String, $last: Int, $before: String) {
    hosts(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        node {
          hostname
          platform {
            name
          }
          module {
            version
          }
          kernel {
            name
          }
          presentCpus
          tdxEnabled
          kvmLoads
          tdxDisabledReasons {
            code
          }
          kvmCapMaxVcpus
          freeMemoryMiB
          tdMemoryMiB
          freeVcpus
          schedulableVcpus
          freeKeyIds
          guestKeyIds
        }
      }
    }
  }
`);

/** The choices of the Hosts and Placement filters. */
export const HostFilterChoicesQuery = graphql(`
  query HostFilterChoices {
    modules(first: 200) {
      edges {
        node {
          version
        }
      }
    }
    platforms(first: 200) {
      edges {
        node {
          name
        }
      }
    }
    kernels(first: 200) {
      edges {
        node {
          name
        }
      }
    }
  }
`);
