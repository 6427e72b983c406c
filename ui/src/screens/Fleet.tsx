// Fleet: counts and charts from fleetSummary (one query, aggregated in SQL).
import { Link } from 'wouter';
import { BarChart, ErrorNote, fmt, Loading, Stat } from '../components';
import { type ResultOf } from '../graphql';
import { FleetQuery } from '../queries';
import { useQuery } from '../session';
import { setHostsView } from './Hosts';

const gib = (mib: number): string => (mib / 1024).toLocaleString('en-US', { maximumFractionDigits: 0 });

type Group = ResultOf<typeof FleetQuery>['fleetSummary']['byModule'][number];

function GroupTable({ caption, groups, none }: { caption: string; groups: readonly Group[]; none: string }) {
  const maxFree = Math.max(1, ...groups.map((g) => g.freeVcpus));
  return (
    <table className="data">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{caption.split(' ').pop()}</th>
          <th scope="col" className="num">
            hosts
          </th>
          <th scope="col" className="num">
            TDX on
          </th>
          <th scope="col" className="num">
            free vCPUs
          </th>
          <th scope="col">
            <span className="sr-only">free vCPUs bar</span>
          </th>
          <th scope="col" className="num">
            free KeyIDs (TD slots)
          </th>
          <th scope="col" className="num">
            largest new TD
          </th>
          <th scope="col" className="num">
            KVM fails to load
          </th>
          <th scope="col" className="num">
            free memory for TDs (GiB)
          </th>
        </tr>
      </thead>
      <tbody>
        {groups.map((g) => (
          <tr key={g.key ?? '(none)'}>
            <th scope="row">{g.key ?? none}</th>
            <td className="num">{fmt(g.hosts)}</td>
            <td className="num">{fmt(g.tdxEnabledHosts)}</td>
            <td className="num">{fmt(g.freeVcpus)}</td>
            <td className="bar-cell">
              <div className="bar" role="img" aria-label={`${g.key ?? none}: ${fmt(g.freeVcpus)} free vCPUs`}>
                <div className="bar-fill free" style={{ width: `${((g.freeVcpus / maxFree) * 100).toFixed(1)}%` }} />
              </div>
            </td>
            <td className="num">{fmt(g.tdSlots)}</td>
            <td className="num">{fmt(g.largestPlaceableTdVcpus)}</td>
            <td className="num">{fmt(g.kvmLoadFailingHosts)}</td>
            <td className="num">
              {gib(g.freeMemoryMiB)} / {gib(g.tdMemoryMiB)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function FleetScreen() {
  const { data, error, loading } = useQuery(FleetQuery, {});
  const s = data?.fleetSummary;
  return (
    <>
      <h1>Fleet</h1>
      <ErrorNote error={error} />
      <Loading when={loading && !s} />
      {s && (
        <>
          <section className="stats" aria-label="Fleet totals">
            <Stat label="hosts" value={fmt(s.hosts)} />
            <Stat label="TDX enabled" value={fmt(s.tdxEnabledHosts)} />
            <Stat label="TDX disabled" value={fmt(s.hosts - s.tdxEnabledHosts)} />
            <Stat label="KVM fails to load" value={fmt(s.kvmLoadFailingHosts)} note="no VM of any kind runs there" />
            <Stat label="over-full hosts" value={fmt(s.overFullHosts)} />
            <Stat label="free vCPUs" value={fmt(s.freeVcpus)} note="on TDX-enabled hosts" />
            <Stat label="TD slots" value={fmt(s.tdSlots)} note="free guest KeyIDs" />
            <Stat
              label="free memory for TDs"
              value={`${gib(s.freeMemoryMiB)} GiB`}
              note={`of ${gib(s.tdMemoryMiB)} GiB${s.unknownMemoryHosts ? `; ${fmt(s.unknownMemoryHosts)} host${s.unknownMemoryHosts === 1 ? '' : 's'} of unknown memory` : ''}`}
            />
            <Stat label="largest new TD" value={s.largestPlaceableTdVcpus === null ? 'none' : `${fmt(s.largestPlaceableTdVcpus)} vCPUs`} />
          </section>
          <div className="grid">
            <BarChart
              caption="Hosts by TDX status and what a failure costs"
              unit="hosts"
              rows={[
                { key: 'enabled', label: 'TDX enabled', value: s.tdxEnabledHosts, tone: 'free' },
                { key: 'disabled', label: 'TDX off, KVM loads', value: s.hosts - s.tdxEnabledHosts - s.kvmLoadFailingHosts, tone: 'warn' },
                {
                  key: 'kvm',
                  label: (
                    <Link href="/hosts" onClick={() => setHostsView({ kvm: 'fails' })}>
                      KVM fails to load
                    </Link>
                  ),
                  value: s.kvmLoadFailingHosts,
                  tone: 'off',
                },
              ]}
            />
            <BarChart
              caption="Why TDX is disabled (a host may have several reasons)"
              unit="hosts"
              rows={s.tdxDisabledByReason.map((r) => ({
                key: r.reason,
                label: (
                  <Link href="/hosts" onClick={() => setHostsView({ status: 'disabled', reason: r.reason })}>
                    {r.reason}
                  </Link>
                ),
                value: r.hosts,
                tone: 'off' as const,
              }))}
            />
            <BarChart
              caption="KVM_CAP_MAX_VCPUS on TDX-enabled hosts"
              unit="hosts"
              rows={s.kvmCapDistribution.map((c) => ({ key: String(c.kvmCapMaxVcpus), label: `cap ${c.kvmCapMaxVcpus}`, value: c.hosts }))}
            />
          </div>
          <GroupTable caption="Capacity by module" groups={s.byModule} none="(no module)" />
          <GroupTable caption="Capacity by platform" groups={s.byPlatform} none="(none)" />
          <GroupTable caption="Capacity by kernel" groups={s.byKernel} none="(none)" />
        </>
      )}
    </>
  );
}
