// Audit (admins): the trail of every inventory change, placement and migration, newest first,
// filtered by the server.
import { useState } from 'react';
import { ErrorNote, Field, firstPage, fmt, Loading, Pager, type PageRequest } from '../components';
import { graphql, type VariablesOf } from '../graphql';
import { useQuery } from '../session';

export const AuditQuery = graphql(`
  query AuditScreen($filter: AuditEventFilter, $first: Int, $after: String, $last: Int, $before: String) {
    auditEvents(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        node {
          sequence
          at
          actor
          action
          entityType
          entityKey
          before
          after
        }
      }
    }
  }
`);

type Action = NonNullable<NonNullable<VariablesOf<typeof AuditQuery>['filter']>['action']>;
const ACTIONS: Action[] = ['CREATE', 'UPDATE', 'DELETE', 'IMPORT', 'PLACE', 'MIGRATE', 'TOKEN_CREATE', 'TOKEN_REVOKE'];
const PAGE = 50;

function changed(before: Record<string, unknown> | null, after: Record<string, unknown> | null): string {
  if (!before) return after ? JSON.stringify(after) : '';
  if (!after) return `deleted ${JSON.stringify(before)}`;
  return Object.keys({ ...before, ...after })
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`)
    .join('; ');
}

export function AuditScreen() {
  const [entityType, setEntityType] = useState('');
  const [entityKey, setEntityKey] = useState('');
  const [actor, setActor] = useState('');
  const [action, setAction] = useState<Action | ''>('');
  const [page, setPage] = useState<PageRequest>(firstPage(PAGE));
  const filter = {
    entityType: entityType.trim() || null,
    entityKey: entityKey.trim() || null,
    actor: actor.trim() || null,
    action: action || null,
  };
  const { data, error, loading } = useQuery(AuditQuery, { filter, ...page });
  const reset = () => setPage(firstPage(PAGE));
  const events = data?.auditEvents;
  return (
    <>
      <h1>Audit trail</h1>
      <form className="filters" aria-label="Audit filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Entity type">
          {(id) => (
            <>
              <select
                id={id}
                value={entityType}
                onChange={(e) => {
                  setEntityType(e.target.value);
                  reset();
                }}
              >
                <option value="">any</option>
                {['Host', 'Td', 'TdxModule', 'Platform', 'Kernel', 'ApiToken', 'Inventory'].map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            </>
          )}
        </Field>
        <Field label="Entity key">
          {(id) => (
            <>
              <input
                id={id}
                value={entityKey}
                onChange={(e) => {
                  setEntityKey(e.target.value);
                  reset();
                }}
                size={18}
              />
            </>
          )}
        </Field>
        <Field label="Actor">
          {(id) => (
            <>
              <input
                id={id}
                value={actor}
                onChange={(e) => {
                  setActor(e.target.value);
                  reset();
                }}
                size={18}
              />
            </>
          )}
        </Field>
        <Field label="Action">
          {(id) => (
            <>
              <select
                id={id}
                value={action}
                onChange={(e) => {
                  setAction(e.target.value as Action | '');
                  reset();
                }}
              >
                <option value="">any</option>
                {ACTIONS.map((a) => (
                  <option key={a}>{a}</option>
                ))}
              </select>
            </>
          )}
        </Field>
      </form>
      <ErrorNote error={error} />
      <p role="status" className="count">
        {events && (
          <>
            <strong data-testid="audit-total">{fmt(events.totalCount)}</strong> events
          </>
        )}
      </p>
      <Loading when={loading && !events} />
      {events && (
        <>
          <table className="data audit">
            <caption className="sr-only">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col" className="num">
                  #
                </th>
                <th scope="col">when (UTC)</th>
                <th scope="col">who</th>
                <th scope="col">action</th>
                <th scope="col">entity</th>
                <th scope="col">what changed</th>
              </tr>
            </thead>
            <tbody>
              {events.edges.map(({ node: e }) => (
                <tr key={e.sequence}>
                  <td className="num">{e.sequence}</td>
                  <td>{e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</td>
                  <td>{e.actor}</td>
                  <td>{e.action}</td>
                  <td>
                    {e.entityType} <strong>{e.entityKey}</strong>
                  </td>
                  <td className="changes">{changed(e.before, e.after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager pageInfo={events.pageInfo} size={PAGE} onPage={setPage} label="Audit events" />
        </>
      )}
    </>
  );
}
