// Kubernetes node-feature-discovery: tdplan's answers as node labels. For one host, the local
// feature file nfd-worker reads from /etc/kubernetes/node-feature-discovery/features.d/
// (`label=value` lines); for the fleet, a NodeFeatureRule (nfd.k8s-sigs.io/v1alpha1) that labels
// each node by name (feature `system.name`, attribute `nodename`), one rule per distinct label set.
import { stringify } from 'yaml';
import type { SchedulerHost } from './scheduler-hosts.js';

/** A sub-namespace of feature.node.kubernetes.io: NFD accepts it without -extra-label-ns. */
export const NFD_LABEL_NAMESPACE = 'tdplan.feature.node.kubernetes.io';

const label = (name: string): string => `${NFD_LABEL_NAMESPACE}/${name}`;

/** The labels of one host, in a stable order. Values are valid Kubernetes label values. */
export function nfdLabels(host: SchedulerHost): Record<string, string> {
  const { capacity } = host;
  const labels: Record<string, string> = {
    [label('tdx-enabled')]: String(capacity.tdxEnabled),
    [label('kvm-loads')]: String(host.kvmLoads),
    [label('kvm-max-vcpus')]: String(host.kvmMaxVcpus),
  };
  // Integers, so pods can use nodeAffinity's Gt/Lt: e.g. kvm-cap-max-vcpus Gt 63 for a 64-vCPU TD.
  if (capacity.kvmCapMaxVcpus !== null) labels[label('kvm-cap-max-vcpus')] = String(capacity.kvmCapMaxVcpus);
  if (host.module !== null) labels[label('tdx-module')] = host.module;
  labels[label('tdx-guest-keyids')] = String(host.guestKeyIds);
  for (const reason of capacity.tdxDisabledReasons) labels[label(`tdx-disabled.${reason.code}`)] = 'true';
  return labels;
}

export function nfdFeatureFile(host: SchedulerHost): string {
  return (
    `# node-feature-discovery local feature file for ${host.hostname}, written by \`tdplan export --format nfd --host ${host.hostname}\`.\n` +
    '# Install as /etc/kubernetes/node-feature-discovery/features.d/tdplan on that node.\n' +
    Object.entries(nfdLabels(host))
      .map(([name, value]) => `${name}=${value}\n`)
      .join('')
  );
}

export interface NodeFeatureRule {
  apiVersion: 'nfd.k8s-sigs.io/v1alpha1';
  kind: 'NodeFeatureRule';
  metadata: { name: string };
  spec: {
    rules: {
      name: string;
      labels: Record<string, string>;
      matchFeatures: { feature: 'system.name'; matchExpressions: { nodename: { op: 'In'; value: string[] } } }[];
    }[];
  };
}

/** One rule per distinct label set (hosts alike share it), matching its nodes by name. */
export function nfdNodeFeatureRule(hosts: readonly SchedulerHost[], name = 'tdplan-tdx'): NodeFeatureRule {
  const groups = new Map<string, { labels: Record<string, string>; hostnames: string[] }>();
  for (const host of hosts) {
    const labels = nfdLabels(host);
    const key = JSON.stringify(labels);
    const group = groups.get(key) ?? { labels, hostnames: [] };
    group.hostnames.push(host.hostname);
    groups.set(key, group);
  }
  return {
    apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
    kind: 'NodeFeatureRule',
    metadata: { name },
    spec: {
      rules: [...groups.values()].map((g, i) => ({
        name: `tdplan ${i + 1}: ${g.hostnames.length} node${g.hostnames.length === 1 ? '' : 's'}, TDX ${g.labels[label('tdx-enabled')] === 'true' ? 'enabled' : 'disabled'}`,
        labels: g.labels,
        matchFeatures: [{ feature: 'system.name', matchExpressions: { nodename: { op: 'In', value: g.hostnames } } }],
      })),
    },
  };
}

export function nfdNodeFeatureRuleYaml(hosts: readonly SchedulerHost[]): string {
  return '# node-feature-discovery NodeFeatureRule written by `tdplan export --format nfd`: kubectl apply -f it.\n' + stringify(nfdNodeFeatureRule(hosts));
}
