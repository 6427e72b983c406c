// Host page: what the host allows and why (R1-R4), its capacity as bars, and its TDs.
import { useState } from 'react';
import { Link } from 'wouter';
import { Bar, ErrorNote, firstPage, fmt, Loading, Pager, type PageRequest } from '../components';
import { graphql } from '../graphql';
import { useQuery } from '../session';

export const HostQuery = graphql(`
  query HostScreen($hostname: String!, $first: Int, $after: String, $last: Int, $before: String) {
    # The schema's own words for each reason: the kernel condition and log line behind it.
    reasonCodes: __type(name: "TdxDisabledReasonCode") {
      enumValues {
        name
        description
      }
    }
    host(hostname: $hostname) {
      hostname
      platform {
        name
        maxLogicalCpus
      }
      module {
        version
        maxVcpusPerTd
        effectiveMaxVcpusPerTd
        features
      }
      kernel {
        name
        kvmMaxVcpus
        tdxVcpuPolicy
      }
      presentCpus
      allocationRatio
      tdxEnabled
      kvmLoads
      tdxDisabledReasons {
        code
        message
        effect
      }
      memoryMiB
      reservedMemoryMiB
      pamtMiB
      tdMemoryMiB
      allocatedMemoryMiB
      freeMemoryMiB
      kvmCapMaxVcpus
      kvmCapMaxVcpusLimitedBy
      guestKeyIds
      usedKeyIds
      freeKeyIds
      schedulableVcpus
      allocatedVcpus
      freeVcpus
      tds(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
        edges {
          node {
            name
            vcpus
            migratable
          }
        }
      }
    }
  }
`);

const TD_PAGE = 25;

export function HostScreen({ hostname }: { hostname: string }) {
  const [page, setPage] = useState<PageRequest>(firstPage(TD_PAGE));
  const { data, error, loading } = useQuery(HostQuery, { hostname, ...page });
  const h = data?.host;
  // gql.tada leaves introspection fields untyped: their shape is GraphQL's own (__Type.enumValues).
  const reasonCodes = data?.reasonCodes as { enumValues: { name: string; description: string | null }[] | null } | null | undefined;
  const kernelLine = (code: string) => reasonCodes?.enumValues?.find((v) => v.name === code)?.description ?? null;
  return (
    <>
      <p className="crumbs">
        <Link href="/hosts">Hosts</Link> /
      </p>
      <h1>Host {hostname}</h1>
      <ErrorNote error={error} />
      <Loading when={loading && !data} />
      {data && !h && <p role="alert">There is no host named {hostname}.</p>}
      {h && (
        <>
          <dl className="facts">
            <dt>Platform</dt>
            <dd>
              {h.platform.name} ({fmt(h.platform.maxLogicalCpus)} logical CPUs)
            </dd>
            <dt>TDX module</dt>
            <dd>
              {h.module
                ? `${h.module.version} (MAX_VCPUS_PER_TD ${h.module.maxVcpusPerTd ?? `not reported: ${h.module.effectiveMaxVcpusPerTd}`}; ${h.module.features.join(', ') || 'no features'})`
                : 'none loaded'}
            </dd>
            <dt>Kernel</dt>
            <dd>
              {h.kernel.name} (KVM_MAX_VCPUS {fmt(h.kernel.kvmMaxVcpus)}, policy {h.kernel.tdxVcpuPolicy})
            </dd>
            <dt>Present CPUs</dt>
            <dd>
              {fmt(h.presentCpus)} (allocation ratio {h.allocationRatio})
            </dd>
            <dt>TDX</dt>
            <dd data-testid="host-tdx">
              {h.tdxEnabled ? <span className="ok">enabled</span> : <span className="off">disabled</span>}
              {!h.kvmLoads && <strong className="off"> and KVM fails to load: no VM of any kind runs here</strong>}
            </dd>
            <dt>Memory</dt>
            <dd>
              {h.memoryMiB === null
                ? 'unknown (memory is not planned on this host)'
                : `${fmt(h.memoryMiB)} MiB RAM, ${fmt(h.reservedMemoryMiB)} MiB reserved, PAMT ${fmt(h.pamtMiB)} MiB, ${fmt(h.tdMemoryMiB)} MiB for TDs`}
            </dd>
            <dt>KVM_CAP_MAX_VCPUS for a TD</dt>
            <dd data-testid="host-cap">
              {h.kvmCapMaxVcpus === null ? '– (TDX disabled)' : `${fmt(h.kvmCapMaxVcpus)}, bound by ${h.kvmCapMaxVcpusLimitedBy.join(' and ')}`}
            </dd>
          </dl>
          {h.tdxDisabledReasons.length > 0 && (
            <section aria-labelledby="reasons">
              <h2 id="reasons">Why TDX is disabled</h2>
              <ul className="reasons">
                {h.tdxDisabledReasons.map((r) => (
                  <li key={r.code}>
                    <code>{r.code}</code>: {r.message} <strong>[{r.effect === 'KVM_LOAD_FAILS' ? 'KVM fails to load' : 'TDX off, KVM loads'}]</strong>
                    {kernelLine(r.code) && <div className="hint">Kernel: {kernelLine(r.code)}</div>}
                  </li>
                ))}
              </ul>
            </section>
          )}
          <section aria-labelledby="capacity">
            <h2 id="capacity">Capacity</h2>
            <table className="capacity">
              <tbody>
                <tr>
                  <th scope="row">vCPUs</th>
                  <td className="bar-cell wide">
                    <Bar
                      value={h.allocatedVcpus}
                      max={h.schedulableVcpus}
                      label="vCPUs allocated"
                      tone={h.allocatedVcpus > h.schedulableVcpus ? 'warn' : 'used'}
                    />
                  </td>
                  <td data-testid="host-vcpus">
                    {fmt(h.allocatedVcpus)} allocated of {fmt(h.schedulableVcpus)} schedulable, {fmt(h.freeVcpus)} free
                  </td>
                </tr>
                <tr>
                  <th scope="row">KeyIDs</th>
                  <td className="bar-cell wide">
                    <Bar value={h.usedKeyIds} max={h.guestKeyIds} label="KeyIDs used" tone={h.usedKeyIds > h.guestKeyIds ? 'warn' : 'used'} />
                  </td>
                  <td data-testid="host-keyids">
                    {fmt(h.usedKeyIds)} used of {fmt(h.guestKeyIds)}, {fmt(h.freeKeyIds)} free
                  </td>
                </tr>
                {h.tdMemoryMiB !== null && h.allocatedMemoryMiB !== null && (
                  <tr>
                    <th scope="row">Memory</th>
                    <td className="bar-cell wide">
                      <Bar
                        value={h.allocatedMemoryMiB}
                        max={h.tdMemoryMiB}
                        label="memory for TDs allocated (MiB)"
                        tone={h.allocatedMemoryMiB > h.tdMemoryMiB ? 'warn' : 'used'}
                      />
                    </td>
                    <td data-testid="host-memory">
                      {fmt(h.allocatedMemoryMiB)} MiB allocated of {fmt(h.tdMemoryMiB)}, {fmt(h.freeMemoryMiB)} free
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </section>
          <section aria-labelledby="tds">
            <h2 id="tds">
              TDs on this host (<span data-testid="host-td-count">{fmt(h.tds.totalCount)}</span>)
            </h2>
            {h.tds.totalCount > 0 && (
              <>
                <table className="data">
                  <thead>
                    <tr>
                      <th scope="col">TD</th>
                      <th scope="col" className="num">
                        vCPUs
                      </th>
                      <th scope="col">migratable</th>
                    </tr>
                  </thead>
                  <tbody>
                    {h.tds.edges.map(({ node: td }) => (
                      <tr key={td.name}>
                        <th scope="row">
                          <Link href={`/tds/${encodeURIComponent(td.name)}`}>{td.name}</Link>
                        </th>
                        <td className="num">{fmt(td.vcpus)}</td>
                        <td>{td.migratable ? 'yes' : 'no'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <Pager pageInfo={h.tds.pageInfo} size={TD_PAGE} onPage={setPage} label="TDs" />
              </>
            )}
          </section>
        </>
      )}
    </>
  );
}
