// Scenarios (N2): proposals discussed from the Negotiation screen. The list pages on the server;
// a scenario shows its changes, its impact now, what drifted since it was proposed, and its
// comments. Planners comment; admins accept or reject with a note.
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { ApiError } from '../api';
import { ErrorNote, Field, firstPage, fmt, Loading, Pager, type PageRequest } from '../components';
import { graphql, type VariablesOf } from '../graphql';
import { useOperation, useQuery, useSession } from '../session';

export const ScenariosQuery = graphql(`
  query ScenariosScreen($filter: ScenarioFilter, $first: Int, $after: String, $last: Int, $before: String) {
    scenarios(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        node {
          id
          number
          title
          author
          status
          createdAt
        }
      }
    }
  }
`);

export const ScenarioQuery = graphql(`
  query ScenarioScreen($id: ID!) {
    node(id: $id) {
      __typename
      ... on Scenario {
        id
        number
        title
        description
        author
        status
        createdAt
        decidedBy
        decisionNote
        changes
        changeProblems {
          field
          message
        }
        impact {
          hostsLosingTdx {
            totalCount
          }
          hostsLosingKvm {
            totalCount
          }
          tdsNoLongerFitting {
            totalCount
          }
          tdsLeftWithoutMigrationTarget {
            totalCount
          }
        }
        impactDrift {
          kind
          countWhenCreated
          countNow
          entered
          left
        }
        comments(first: 100) {
          totalCount
          edges {
            node {
              author
              body
              createdAt
            }
          }
        }
      }
    }
  }
`);

const CommentMutation = graphql(`
  mutation CommentOnScenario($id: ID!, $body: String!) {
    commentOnScenario(scenario: { id: $id }, body: $body) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const DecideMutation = graphql(`
  mutation DecideScenario($id: ID!, $status: ScenarioDecision!, $note: String) {
    decideScenario(scenario: { id: $id }, status: $status, note: $note) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

type Status = NonNullable<NonNullable<VariablesOf<typeof ScenariosQuery>['filter']>['status']>;
const STATUSES: Status[] = ['OPEN', 'ACCEPTED', 'REJECTED', 'APPLIED'];
type Decision = VariablesOf<typeof DecideMutation>['status'];
const PAGE = 25;

const when = (iso: string): string => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');

export function ScenariosScreen() {
  const [status, setStatus] = useState<Status | ''>('');
  const [page, setPage] = useState<PageRequest>(firstPage(PAGE));
  const { data, error, loading } = useQuery(ScenariosQuery, { filter: { status: status || null }, ...page });
  const list = data?.scenarios;
  return (
    <>
      <h1>Scenarios</h1>
      <p>
        Proposals of module, kernel, host and TD changes, with their impact now. <Link href="/negotiation">Back to negotiation</Link>.
      </p>
      <form className="filters" aria-label="Scenario filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          {(id) => (
            <select
              id={id}
              value={status}
              onChange={(e) => {
                setStatus(e.target.value as Status | '');
                setPage(firstPage(PAGE));
              }}
            >
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
      </form>
      <ErrorNote error={error} />
      <Loading when={loading && !list} />
      {list && (
        <>
          <p role="status" className="count">
            <strong>{fmt(list.totalCount)}</strong> scenarios
          </p>
          <table className="data" data-testid="scenarios">
            <caption className="sr-only">Scenarios, newest first</caption>
            <thead>
              <tr>
                <th scope="col" className="num">
                  #
                </th>
                <th scope="col">status</th>
                <th scope="col">title</th>
                <th scope="col">author</th>
                <th scope="col">proposed (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {list.edges.map(({ node: s }) => (
                <tr key={s.id}>
                  <td className="num">{s.number}</td>
                  <td>{s.status}</td>
                  <td>
                    <Link href={`/scenarios/${encodeURIComponent(s.id)}`}>{s.title}</Link>
                  </td>
                  <td>{s.author}</td>
                  <td>{when(s.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager pageInfo={list.pageInfo} size={PAGE} onPage={setPage} label="Scenarios" />
        </>
      )}
    </>
  );
}

function asError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError('server', String(err));
}

export function ScenarioScreen({ id }: { id: string }) {
  const session = useSession();
  const { data, error, loading, refetch } = useQuery(ScenarioQuery, { id });
  const comment = useOperation(CommentMutation);
  const decide = useOperation(DecideMutation);
  const [body, setBody] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<ApiError>();
  const scenario = data?.node?.__typename === 'Scenario' ? data.node : undefined;

  const run = async (action: () => Promise<{ __typename: string; message?: string }>, done: () => void) => {
    setBusy(true);
    setActionError(undefined);
    try {
      const result = await action();
      if (result.message !== undefined) setActionError(new ApiError('invalid', result.message));
      else {
        done();
        refetch();
      }
    } catch (err) {
      setActionError(asError(err));
    } finally {
      setBusy(false);
    }
  };
  const submitComment = (e: FormEvent) => {
    e.preventDefault();
    void run(
      async () => (await comment({ id, body: body.trim() })).commentOnScenario,
      () => setBody(''),
    );
  };
  const decideAs = (status: Decision) =>
    void run(
      async () => (await decide({ id, status, note: note.trim() || null })).decideScenario,
      () => setNote(''),
    );

  if (!scenario) {
    return (
      <>
        <h1>Scenario</h1>
        <ErrorNote error={error} />
        <Loading when={loading} />
        {data && <p>No such scenario.</p>}
        <Link href="/scenarios">All scenarios</Link>
      </>
    );
  }
  const impact = scenario.impact;
  const counts: [string, number][] = impact
    ? [
        ['Hosts losing TDX', impact.hostsLosingTdx.totalCount],
        ['Hosts losing KVM', impact.hostsLosingKvm.totalCount],
        ['TDs no longer fitting', impact.tdsNoLongerFitting.totalCount],
        ['TDs without a migration target', impact.tdsLeftWithoutMigrationTarget.totalCount],
      ]
    : [];
  return (
    <>
      <p>
        <Link href="/scenarios">All scenarios</Link>
      </p>
      <h1>
        Scenario {scenario.number}: {scenario.title}
      </h1>
      <p>
        Status <strong data-testid="scenario-status">{scenario.status}</strong>, proposed by {scenario.author} on {when(scenario.createdAt)}
        {scenario.decidedBy && ` · decided by ${scenario.decidedBy}`}
        {scenario.decisionNote && `: “${scenario.decisionNote}”`}
      </p>
      {scenario.description && <p>{scenario.description}</p>}
      <ErrorNote error={error} />

      <h2>Changes</h2>
      <pre className="changes" data-testid="scenario-changes">
        {JSON.stringify(scenario.changes, null, 2)}
      </pre>
      {scenario.changeProblems.length > 0 && (
        <ul className="problems">
          {scenario.changeProblems.map((p) => (
            <li key={p.field}>
              {p.field}: {p.message}
            </li>
          ))}
        </ul>
      )}

      <h2>Impact now</h2>
      {impact ? (
        <dl className="stats">
          {counts.map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd data-testid={`scenario-impact-${label}`}>{fmt(value)}</dd>
            </div>
          ))}
        </dl>
      ) : (
        <p>Its changes no longer apply to the inventory (see above): no impact can be computed.</p>
      )}

      {scenario.impactDrift && (
        <>
          <h2>Drift since proposed</h2>
          <table className="data" data-testid="scenario-drift">
            <caption className="sr-only">How each impact list changed since the scenario was proposed</caption>
            <thead>
              <tr>
                <th scope="col">list</th>
                <th scope="col" className="num">
                  when proposed
                </th>
                <th scope="col" className="num">
                  now
                </th>
                <th scope="col">entered</th>
                <th scope="col">left</th>
              </tr>
            </thead>
            <tbody>
              {scenario.impactDrift.map((d) => (
                <tr key={d.kind}>
                  <td>{d.kind}</td>
                  <td className="num">{fmt(d.countWhenCreated)}</td>
                  <td className="num">{fmt(d.countNow)}</td>
                  <td>{d.entered.join(', ') || '–'}</td>
                  <td>{d.left.join(', ') || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      <h2>Comments ({fmt(scenario.comments.totalCount)})</h2>
      <ol className="comments" data-testid="scenario-comments">
        {scenario.comments.edges.map(({ node: c }, i) => (
          <li key={i}>
            <strong>{c.author}</strong> ({when(c.createdAt)}): {c.body}
          </li>
        ))}
      </ol>
      <ErrorNote error={actionError} />
      {session.can('PLANNER') ? (
        <form onSubmit={submitComment} aria-label="Comment">
          <Field label="Your comment">{(fid) => <textarea id={fid} value={body} onChange={(e) => setBody(e.target.value)} rows={3} cols={60} />}</Field>
          <button type="submit" disabled={busy || body.trim() === ''}>
            Add comment
          </button>
        </form>
      ) : (
        <p className="hint">Commenting needs a planner or admin token.</p>
      )}
      {session.can('ADMIN') && scenario.status !== 'APPLIED' && (
        <form onSubmit={(e) => e.preventDefault()} aria-label="Decision">
          <h2>Decide</h2>
          <Field label="Decision note">{(fid) => <input id={fid} value={note} onChange={(e) => setNote(e.target.value)} size={60} />}</Field>
          <button type="button" className="primary" disabled={busy} onClick={() => decideAs('ACCEPTED')}>
            Accept
          </button>{' '}
          <button type="button" disabled={busy} onClick={() => decideAs('REJECTED')}>
            Reject
          </button>
        </form>
      )}
    </>
  );
}
