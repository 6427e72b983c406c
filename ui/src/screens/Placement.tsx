// Placement: vCPUs in, ranked candidates out (R5, best fit first), what fits where by module,
// platform and kernel; a planner places a planned TD or migrates a placed one.
import { useState } from 'react';
import { Link } from 'wouter';
import { ErrorNote, Field, fmt, Loading } from '../components';
import { graphql, type ResultOf } from '../graphql';
import { MoveButton, MoveOutcomeNote, type MoveOutcome } from '../move';
import { useQuery, useSession } from '../session';
import { HostFilterChoicesQuery } from '../queries';

export const PlacementQuery = graphql(`
  query PlacementScreen($vcpus: Int!, $memoryMiB: Int, $filter: PlacementFilter) {
    placementCandidates(vcpus: $vcpus, memoryMiB: $memoryMiB, filter: $filter, first: 20) {
      totalCount
      edges {
        remainingVcpus
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
          kvmCapMaxVcpus
          freeVcpus
          freeKeyIds
          freeMemoryMiB
        }
      }
    }
    whatFitsWhere(vcpus: $vcpus) {
      fleet {
        ...FitFields
      }
      byModule {
        ...FitFields
      }
      byPlatform {
        ...FitFields
      }
      byKernel {
        ...FitFields
      }
    }
  }
  fragment FitFields on FitCounts {
    key
    acceptingHosts
    refusingHosts
    blockers {
      code
      hosts
    }
  }
`);

export const PlannedTdsQuery = graphql(`
  query PlannedTds {
    tds(filter: { placed: false }, first: 200) {
      totalCount
      edges {
        node {
          name
          vcpus
        }
      }
    }
  }
`);

export const TdWhereQuery = graphql(`
  query TdWhere($name: String!) {
    td(name: $name) {
      name
      vcpus
      host {
        hostname
      }
    }
  }
`);

type Fit = ResultOf<typeof PlacementQuery>['whatFitsWhere']['fleet'];

function FitTable({ caption, rows, none }: { caption: string; rows: readonly Fit[]; none: string }) {
  return (
    <table className="data">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{caption.split(' ').pop()}</th>
          <th scope="col" className="num">
            accepting hosts
          </th>
          <th scope="col" className="num">
            refusing hosts
          </th>
          <th scope="col">why the rest refuse (hosts)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key ?? none}>
            <th scope="row">{r.key ?? none}</th>
            <td className="num">{fmt(r.acceptingHosts)}</td>
            <td className="num">{fmt(r.refusingHosts)}</td>
            <td>{r.blockers.map((b) => `${b.code} ${fmt(b.hosts)}`).join(', ') || '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PlacementScreen() {
  const session = useSession();
  const [vcpusText, setVcpusText] = useState('8');
  const [memoryText, setMemoryText] = useState('');
  const [module, setModule] = useState('');
  const [platform, setPlatform] = useState('');
  const [kernel, setKernel] = useState('');
  const [tdName, setTdName] = useState('');
  const [hostname, setHostname] = useState('');
  const [outcome, setOutcome] = useState<MoveOutcome>();
  const vcpus = Number(vcpusText);
  const vcpusValid = /^\d+$/.test(vcpusText.trim()) && vcpus >= 1;
  const memoryValid = memoryText.trim() === '' || /^\d+$/.test(memoryText.trim());
  const memoryMiB = memoryText.trim() === '' || !memoryValid ? null : Number(memoryText.trim());
  const choices = useQuery(HostFilterChoicesQuery, {});
  const filter = { module: module ? { version: module } : null, platform: platform ? { name: platform } : null, kernel: kernel ? { name: kernel } : null };
  const { data, error, loading, refetch } = useQuery(PlacementQuery, { vcpus: vcpusValid ? vcpus : 1, memoryMiB, filter }, { skip: !vcpusValid });
  const planned = useQuery(PlannedTdsQuery, {}, { skip: !session.can('PLANNER') });
  const chosen = useQuery(TdWhereQuery, { name: tdName.trim() }, { skip: tdName.trim() === '' });
  const td = chosen.data?.td;
  const kind = td?.host ? 'migrate' : 'place';
  const onDone = (o: MoveOutcome) => {
    setOutcome(o);
    if (o.kind === 'done') {
      refetch();
      planned.refetch();
      chosen.refetch();
    }
  };
  const select = (label: string, value: string, set: (v: string) => void, values: string[] | undefined) => (
    <Field label={label}>
      {(id) => (
        <select id={id} value={value} onChange={(e) => set(e.target.value)}>
          <option value="">any</option>
          {values?.map((v) => (
            <option key={v}>{v}</option>
          ))}
        </select>
      )}
    </Field>
  );
  return (
    <>
      <h1>Placement</h1>
      <form className="filters" aria-label="TD size" onSubmit={(e) => e.preventDefault()}>
        <Field label="vCPUs">
          {(id) => (
            <>
              <input id={id} inputMode="numeric" value={vcpusText} onChange={(e) => setVcpusText(e.target.value)} aria-invalid={!vcpusValid} size={6} />
            </>
          )}
        </Field>
        <Field label="Memory (MiB)">
          {(id) => (
            <input
              id={id}
              inputMode="numeric"
              value={memoryText}
              onChange={(e) => setMemoryText(e.target.value)}
              aria-invalid={!memoryValid}
              size={8}
              placeholder="not checked"
            />
          )}
        </Field>
        {select(
          'Module',
          module,
          setModule,
          choices.data?.modules.edges.map((e) => e.node.version),
        )}
        {select(
          'Platform',
          platform,
          setPlatform,
          choices.data?.platforms.edges.map((e) => e.node.name),
        )}
        {select(
          'Kernel',
          kernel,
          setKernel,
          choices.data?.kernels.edges.map((e) => e.node.name),
        )}
      </form>
      {!memoryValid && (
        <p className="error" role="alert">
          Memory must be a whole number of MiB, or empty to leave memory out.
        </p>
      )}
      {!vcpusValid && (
        <p className="error" role="alert">
          vCPUs must be a whole number of at least 1.
        </p>
      )}
      <ErrorNote error={error} />
      <Loading when={loading && !data} />
      {session.can('PLANNER') && (
        <section aria-labelledby="place" className="panel">
          <h2 id="place">Place or migrate a TD</h2>
          <form className="filters" onSubmit={(e) => e.preventDefault()}>
            <Field label="TD">
              {(id) => (
                <>
                  <input
                    id={id}
                    list="planned-tds"
                    value={tdName}
                    onChange={(e) => setTdName(e.target.value)}
                    placeholder="a planned TD, or a placed one to migrate"
                    size={36}
                  />
                  <datalist id="planned-tds">
                    {planned.data?.tds.edges.map((e) => (
                      <option key={e.node.name} value={e.node.name}>
                        {e.node.vcpus} vCPUs
                      </option>
                    ))}
                  </datalist>
                </>
              )}
            </Field>
            <Field label="Host">
              {(id) => (
                <>
                  <input id={id} list="candidate-hosts" value={hostname} onChange={(e) => setHostname(e.target.value)} size={20} />
                  <datalist id="candidate-hosts">
                    {data?.placementCandidates.edges.map((e) => (
                      <option key={e.node.hostname} value={e.node.hostname} />
                    ))}
                  </datalist>
                </>
              )}
            </Field>
            {td && td.vcpus !== vcpus && (
              <button type="button" onClick={() => setVcpusText(String(td.vcpus))}>
                Use its {td.vcpus} vCPUs
              </button>
            )}
            <MoveButton kind={kind} td={td?.name ?? ''} host={hostname.trim()} label={kind === 'migrate' ? 'Migrate…' : 'Place…'} onDone={onDone} />
          </form>
          <p className="hint" role="status">
            {tdName.trim() === ''
              ? `${fmt(planned.data?.tds.totalCount)} planned TDs wait for a host.`
              : chosen.loading
                ? 'Looking the TD up…'
                : td
                  ? td.host
                    ? `${td.name} (${td.vcpus} vCPUs) runs on ${td.host.hostname}: it will be migrated.`
                    : `${td.name} (${td.vcpus} vCPUs) is planned: it will be placed.`
                  : `There is no TD named ${tdName.trim()}.`}
          </p>
          <ErrorNote error={chosen.error} />
          <MoveOutcomeNote outcome={outcome} />
        </section>
      )}
      {data && (
        <>
          <section aria-labelledby="candidates">
            <h2 id="candidates">
              Best hosts for a TD of {fmt(vcpus)} vCPUs (<span data-testid="candidates-total">{fmt(data.placementCandidates.totalCount)}</span> accept it)
            </h2>
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">host</th>
                  <th scope="col">platform</th>
                  <th scope="col">module</th>
                  <th scope="col">kernel</th>
                  <th scope="col" className="num">
                    KVM cap
                  </th>
                  <th scope="col" className="num">
                    free KeyIDs
                  </th>
                  <th scope="col" className="num">
                    vCPUs left after
                  </th>
                  <th scope="col" className="num">
                    free memory (MiB)
                  </th>
                  {session.can('PLANNER') && (
                    <th scope="col">
                      <span className="sr-only">action</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {data.placementCandidates.edges.map((e, i) => (
                  <tr key={e.node.hostname}>
                    <td>{i + 1}</td>
                    <th scope="row">
                      <Link href={`/hosts/${encodeURIComponent(e.node.hostname)}`}>{e.node.hostname}</Link>
                    </th>
                    <td>{e.node.platform.name}</td>
                    <td>{e.node.module?.version ?? '–'}</td>
                    <td>{e.node.kernel.name}</td>
                    <td className="num">{fmt(e.node.kvmCapMaxVcpus)}</td>
                    <td className="num">{fmt(e.node.freeKeyIds)}</td>
                    <td className="num">{fmt(e.remainingVcpus)}</td>
                    <td className="num">{fmt(e.node.freeMemoryMiB)}</td>
                    {session.can('PLANNER') && (
                      <td>
                        <button type="button" onClick={() => setHostname(e.node.hostname)} aria-label={`Choose ${e.node.hostname}`}>
                          Choose
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section aria-labelledby="fits">
            <h2 id="fits">What fits where</h2>
            <p data-testid="fits-fleet">
              Fleet: {fmt(data.whatFitsWhere.fleet.acceptingHosts)} hosts accept a TD of {fmt(vcpus)} vCPUs, {fmt(data.whatFitsWhere.fleet.refusingHosts)}{' '}
              refuse it
              {data.whatFitsWhere.fleet.blockers.length > 0 && ` (${data.whatFitsWhere.fleet.blockers.map((b) => `${b.code} ${fmt(b.hosts)}`).join(', ')})`}.
            </p>
            <FitTable caption="By module" rows={data.whatFitsWhere.byModule} none="(no module)" />
            <FitTable caption="By platform" rows={data.whatFitsWhere.byPlatform} none="(none)" />
            <FitTable caption="By kernel" rows={data.whatFitsWhere.byKernel} none="(none)" />
          </section>
        </>
      )}
    </>
  );
}
