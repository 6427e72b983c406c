// Hosts: a page of the fleet's hosts, filtered, sorted and paged by the server (hosts(filter:,
// orderBy:, first:/after:)), so it costs the same at 100,000 hosts as at 10.
import { useEffect, useState } from 'react';
import { Link } from 'wouter';
import { ErrorNote, Field, firstPage, fmt, Loading, Pager, type PageRequest } from '../components';
import { type VariablesOf } from '../graphql';
import { HostFilterChoicesQuery, HostsQuery } from '../queries';
import { useQuery } from '../session';

type Variables = VariablesOf<typeof HostsQuery>;
type Reason = NonNullable<NonNullable<Variables['filter']>['tdxDisabledReason']>;
type OrderField = NonNullable<Variables['orderBy']>['field'];

const REASONS: Reason[] = ['NO_MODULE', 'PLATFORM_UNSUPPORTED', 'NO_TOPOLOGY_ENUM', 'NO_GUEST_KEYIDS', 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS'];
const ORDER_FIELDS: { value: OrderField; label: string }[] = [
  { value: 'HOSTNAME', label: 'hostname' },
  { value: 'PRESENT_CPUS', label: 'present CPUs' },
  { value: 'GUEST_KEY_IDS', label: 'guest KeyIDs' },
  { value: 'TD_COUNT', label: 'TDs placed' },
  { value: 'ALLOCATED_VCPUS', label: 'allocated vCPUs' },
];
const PAGE_SIZE = 50;

export interface HostsView {
  module: string;
  platform: string;
  kernel: string;
  status: '' | 'enabled' | 'disabled';
  kvm: '' | 'loads' | 'fails';
  reason: Reason | '';
  minCap: string;
  order: OrderField | '';
  direction: 'ASC' | 'DESC';
}

const EMPTY: HostsView = { module: '', platform: '', kernel: '', status: '', kvm: '', reason: '', minCap: '', order: '', direction: 'ASC' };
const VIEW_KEY = 'tdplan.hostsView';

/** Opens the Hosts screen with these filters (from the Fleet screen's charts). */
export function setHostsView(view: Partial<HostsView>): void {
  sessionStorage.setItem(VIEW_KEY, JSON.stringify({ ...EMPTY, ...view }));
}

function keptView(): HostsView {
  try {
    return { ...EMPTY, ...(JSON.parse(sessionStorage.getItem(VIEW_KEY) ?? '{}') as Partial<HostsView>) };
  } catch {
    return EMPTY;
  }
}

export function hostsVariables(view: HostsView, page: PageRequest): Variables {
  const minCap = view.minCap.trim() === '' ? null : Number(view.minCap);
  return {
    filter: {
      module: view.module ? { version: view.module } : null,
      platform: view.platform ? { name: view.platform } : null,
      kernel: view.kernel ? { name: view.kernel } : null,
      tdxEnabled: view.status === '' ? null : view.status === 'enabled',
      kvmLoads: view.kvm === '' ? null : view.kvm === 'loads',
      tdxDisabledReason: view.reason || null,
      minKvmCapMaxVcpus: minCap !== null && Number.isInteger(minCap) ? minCap : null,
    },
    orderBy: view.order ? { field: view.order, direction: view.direction } : null,
    ...page,
  };
}

export function HostsScreen() {
  const [view, setView] = useState<HostsView>(keptView);
  const [page, setPage] = useState<PageRequest>(firstPage(PAGE_SIZE));
  useEffect(() => sessionStorage.setItem(VIEW_KEY, JSON.stringify(view)), [view]);
  const choices = useQuery(HostFilterChoicesQuery, {});
  const { data, error, loading } = useQuery(HostsQuery, hostsVariables(view, page));
  const change = (patch: Partial<HostsView>) => {
    setView((v) => ({ ...v, ...patch }));
    setPage(firstPage(PAGE_SIZE));
  };
  const capInvalid = view.minCap.trim() !== '' && !/^\d+$/.test(view.minCap.trim());
  const hosts = data?.hosts;
  const options = (values: string[] | undefined) => values?.map((v) => <option key={v}>{v}</option>);
  return (
    <>
      <h1>Hosts</h1>
      <form className="filters" aria-label="Host filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Module">
          {(id) => (
            <>
              <select id={id} value={view.module} onChange={(e) => change({ module: e.target.value })}>
                <option value="">any</option>
                {options(choices.data?.modules.edges.map((e) => e.node.version))}
              </select>
            </>
          )}
        </Field>
        <Field label="Platform">
          {(id) => (
            <>
              <select id={id} value={view.platform} onChange={(e) => change({ platform: e.target.value })}>
                <option value="">any</option>
                {options(choices.data?.platforms.edges.map((e) => e.node.name))}
              </select>
            </>
          )}
        </Field>
        <Field label="Kernel">
          {(id) => (
            <>
              <select id={id} value={view.kernel} onChange={(e) => change({ kernel: e.target.value })}>
                <option value="">any</option>
                {options(choices.data?.kernels.edges.map((e) => e.node.name))}
              </select>
            </>
          )}
        </Field>
        <Field label="TDX">
          {(id) => (
            <>
              <select id={id} value={view.status} onChange={(e) => change({ status: e.target.value as HostsView['status'] })}>
                <option value="">any</option>
                <option value="enabled">enabled</option>
                <option value="disabled">disabled</option>
              </select>
            </>
          )}
        </Field>
        <Field label="KVM">
          {(id) => (
            <select id={id} value={view.kvm} onChange={(e) => change({ kvm: e.target.value as HostsView['kvm'] })}>
              <option value="">any</option>
              <option value="loads">loads</option>
              <option value="fails">fails to load</option>
            </select>
          )}
        </Field>
        <Field label="Reason">
          {(id) => (
            <>
              <select id={id} value={view.reason} onChange={(e) => change({ reason: e.target.value as Reason | '' })}>
                <option value="">any</option>
                {REASONS.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </>
          )}
        </Field>
        <Field label="Min. KVM_CAP_MAX_VCPUS">
          {(id) => (
            <>
              <input id={id} inputMode="numeric" value={view.minCap} aria-invalid={capInvalid} onChange={(e) => change({ minCap: e.target.value })} size={6} />
            </>
          )}
        </Field>
        <Field label="Sort by">
          {(id) => (
            <>
              <select id={id} value={view.order} onChange={(e) => change({ order: e.target.value as OrderField | '' })}>
                <option value="">host id</option>
                {ORDER_FIELDS.map((f) => (
                  <option key={f.value} value={f.value}>
                    {f.label}
                  </option>
                ))}
              </select>
            </>
          )}
        </Field>
        <Field label="Direction">
          {(id) => (
            <>
              <select id={id} value={view.direction} onChange={(e) => change({ direction: e.target.value as 'ASC' | 'DESC' })}>
                <option value="ASC">ascending</option>
                <option value="DESC">descending</option>
              </select>
            </>
          )}
        </Field>
        <button type="button" onClick={() => change(EMPTY)}>
          Clear
        </button>
      </form>
      {capInvalid && (
        <p className="error" role="alert">
          The minimum cap must be a whole number; it is ignored until it is one.
        </p>
      )}
      <ErrorNote error={error} />
      <p role="status" className="count">
        {hosts ? (
          <>
            <strong data-testid="hosts-total">{fmt(hosts.totalCount)}</strong> hosts match
          </>
        ) : (
          ' '
        )}
        {loading && hosts && ' (updating…)'}
      </p>
      <Loading when={loading && !hosts} />
      {hosts && (
        <>
          <table className="data hosts">
            <caption className="sr-only">Hosts matching the filters</caption>
            <thead>
              <tr>
                <th scope="col">host</th>
                <th scope="col">platform</th>
                <th scope="col">module</th>
                <th scope="col">kernel</th>
                <th scope="col" className="num">
                  present CPUs
                </th>
                <th scope="col">TDX</th>
                <th scope="col" className="num">
                  KVM cap
                </th>
                <th scope="col" className="num">
                  free vCPUs
                </th>
                <th scope="col" className="num">
                  free KeyIDs
                </th>
                <th scope="col" className="num">
                  free memory (MiB)
                </th>
              </tr>
            </thead>
            <tbody>
              {hosts.edges.map(({ node: h }) => (
                <tr key={h.hostname}>
                  <th scope="row">
                    <Link href={`/hosts/${encodeURIComponent(h.hostname)}`}>{h.hostname}</Link>
                  </th>
                  <td>{h.platform.name}</td>
                  <td>{h.module?.version ?? '–'}</td>
                  <td>{h.kernel.name}</td>
                  <td className="num">{fmt(h.presentCpus)}</td>
                  <td>
                    {h.tdxEnabled ? (
                      <span className="ok">enabled</span>
                    ) : (
                      <span className="off">off: {h.tdxDisabledReasons.map((r) => r.code).join(', ')}</span>
                    )}
                  </td>
                  <td className="num">{fmt(h.kvmCapMaxVcpus)}</td>
                  <td className="num">
                    {fmt(h.freeVcpus)} / {fmt(h.schedulableVcpus)}
                  </td>
                  <td className="num">
                    {fmt(h.freeKeyIds)} / {fmt(h.guestKeyIds)}
                  </td>
                  <td className="num">{h.tdMemoryMiB === null ? '–' : `${fmt(h.freeMemoryMiB)} / ${fmt(h.tdMemoryMiB)}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager pageInfo={hosts.pageInfo} size={PAGE_SIZE} onPage={setPage} label="Hosts" />
        </>
      )}
    </>
  );
}
