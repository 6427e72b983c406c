// TD page: where it runs and whether it fits there, where it could go (R6 migration targets, or
// R5 candidates for a planned TD), and every blocker for any other host.
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { ErrorNote, Field, fmt, Loading } from '../components';
import { graphql } from '../graphql';
import { MoveButton, MoveOutcomeNote, type MoveOutcome } from '../move';
import { useOperation, useQuery, useSession } from '../session';
import { ApiError } from '../api';

export const TdQuery = graphql(`
  query TdScreen($name: String!) {
    td(name: $name) {
      name
      vcpus
      migratable
      host {
        hostname
        tdxEnabled
        kvmCapMaxVcpus
        platform {
          name
        }
        module {
          version
        }
        kernel {
          name
        }
      }
      migrationTargets(first: 10) {
        totalCount
        edges {
          remainingVcpus
          node {
            hostname
            freeKeyIds
            kvmCapMaxVcpus
          }
        }
      }
    }
  }
`);

export const CandidatesQuery = graphql(`
  query TdCandidates($vcpus: Int!) {
    placementCandidates(vcpus: $vcpus, first: 10) {
      totalCount
      edges {
        remainingVcpus
        node {
          hostname
          freeKeyIds
          kvmCapMaxVcpus
        }
      }
    }
  }
`);

export const TdCheckQuery = graphql(`
  query TdCheck($name: String!, $hostname: String!, $placed: Boolean!) {
    td(name: $name) {
      migrationCheck(targetHostname: $hostname) @include(if: $placed) {
        compatible
        blockers {
          code
          message
        }
      }
      placementCheck(hostname: $hostname) @skip(if: $placed) {
        compatible
        blockers {
          code
          message
        }
      }
    }
  }
`);

export function TdScreen({ name }: { name: string }) {
  const session = useSession();
  const { data, error, loading, refetch } = useQuery(TdQuery, { name });
  const td = data?.td;
  const placed = Boolean(td?.host);
  const candidates = useQuery(CandidatesQuery, { vcpus: td?.vcpus ?? 1 }, { skip: !td || placed });
  const [outcome, setOutcome] = useState<MoveOutcome>();
  const [other, setOther] = useState('');
  const [check, setCheck] = useState<{ hostname: string; compatible: boolean; blockers: readonly { code: string; message: string }[] }>();
  const [checkError, setCheckError] = useState<ApiError>();
  const runCheck = useOperation(TdCheckQuery);
  const onDone = (o: MoveOutcome) => {
    setOutcome(o);
    if (o.kind === 'done') refetch();
  };
  const submitCheck = async (e: FormEvent) => {
    e.preventDefault();
    setCheckError(undefined);
    setCheck(undefined);
    try {
      const r = await runCheck({ name, hostname: other.trim(), placed });
      const c = placed ? r.td?.migrationCheck : r.td?.placementCheck;
      if (c) setCheck({ hostname: other.trim(), ...c });
    } catch (err) {
      setCheckError(err instanceof ApiError ? err : new ApiError('server', String(err)));
    }
  };
  const kind = placed ? 'migrate' : 'place';
  const targets = placed ? td?.migrationTargets : candidates.data?.placementCandidates;
  const fitsWhereItRuns = td?.host ? td.host.tdxEnabled && td.host.kvmCapMaxVcpus !== null && td.vcpus <= td.host.kvmCapMaxVcpus : null;
  return (
    <>
      <h1>TD {name}</h1>
      <ErrorNote error={error} />
      <Loading when={loading && !data} />
      {data && !td && <p role="alert">There is no TD named {name}.</p>}
      {td && (
        <>
          <dl className="facts">
            <dt>vCPUs</dt>
            <dd data-testid="td-vcpus">{fmt(td.vcpus)}</dd>
            <dt>Migratable</dt>
            <dd>{td.migratable ? 'yes' : 'no'}</dd>
            <dt>Runs on</dt>
            <dd data-testid="td-host">
              {td.host ? (
                <>
                  <Link href={`/hosts/${encodeURIComponent(td.host.hostname)}`}>{td.host.hostname}</Link> ({td.host.platform.name}, module{' '}
                  {td.host.module?.version ?? 'none'}, kernel {td.host.kernel.name})
                </>
              ) : (
                'nowhere: planned'
              )}
            </dd>
            {td.host && (
              <>
                <dt>Fits where it runs</dt>
                <dd data-testid="td-fits">
                  {fitsWhereItRuns ? <span className="ok">yes</span> : <span className="off">no</span>} (TDX {td.host.tdxEnabled ? 'enabled' : 'disabled'}{' '}
                  there; KVM_CAP_MAX_VCPUS {fmt(td.host.kvmCapMaxVcpus)} for its {fmt(td.vcpus)} vCPUs)
                </dd>
              </>
            )}
          </dl>
          <MoveOutcomeNote outcome={outcome} />
          <section aria-labelledby="targets">
            <h2 id="targets">
              {placed ? 'Migration targets' : 'Where it could be placed'} (<span data-testid="td-target-count">{fmt(targets?.totalCount)}</span>)
            </h2>
            {placed && !td.migratable && <p>This TD is not migratable.</p>}
            {targets && targets.edges.length > 0 && (
              <table className="data">
                <thead>
                  <tr>
                    <th scope="col">host</th>
                    <th scope="col" className="num">
                      KVM cap
                    </th>
                    <th scope="col" className="num">
                      free KeyIDs
                    </th>
                    <th scope="col" className="num">
                      vCPUs left after
                    </th>
                    {session.can('PLANNER') && (
                      <th scope="col">
                        <span className="sr-only">action</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {targets.edges.map((e) => (
                    <tr key={e.node.hostname}>
                      <th scope="row">
                        <Link href={`/hosts/${encodeURIComponent(e.node.hostname)}`}>{e.node.hostname}</Link>
                      </th>
                      <td className="num">{fmt(e.node.kvmCapMaxVcpus)}</td>
                      <td className="num">{fmt(e.node.freeKeyIds)}</td>
                      <td className="num">{fmt(e.remainingVcpus)}</td>
                      {session.can('PLANNER') && (
                        <td>
                          <MoveButton kind={kind} td={td.name} host={e.node.hostname} onDone={onDone} />
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="other">
            <h2 id="other">Any other host</h2>
            <form className="inline" onSubmit={submitCheck}>
              <Field label="Hostname">
                {(id) => (
                  <>
                    <input id={id} value={other} onChange={(e) => setOther(e.target.value)} required />
                  </>
                )}
              </Field>
              <button type="submit" disabled={other.trim() === ''}>
                Check
              </button>
              {session.can('PLANNER') && (
                <MoveButton kind={kind} td={td.name} host={other.trim()} label={placed ? 'Migrate there…' : 'Place there…'} onDone={onDone} />
              )}
            </form>
            <ErrorNote error={checkError} />
            {check && (
              <div role="status" data-testid="td-check">
                {check.compatible ? (
                  <p className="ok">
                    {td.name} can {placed ? 'move to' : 'be placed on'} {check.hostname}.
                  </p>
                ) : (
                  <>
                    <p>
                      {td.name} cannot {placed ? 'move to' : 'be placed on'} {check.hostname}:
                    </p>
                    <ul className="blockers">
                      {check.blockers.map((b) => (
                        <li key={b.code}>
                          <code>{b.code}</code>: {b.message}
                        </li>
                      ))}
                    </ul>
                  </>
                )}
              </div>
            )}
          </section>
        </>
      )}
    </>
  );
}
