// Placing a planned TD or migrating a placed one, after a confirmation. A refusal lists every
// blocker tdplan found (R5/R6); the form that asked keeps its input.
import { useState } from 'react';
import { ApiError } from './api';
import { Confirm, ErrorNote } from './components';
import { graphql } from './graphql';
import { useOperation } from './session';

export const PlaceTdMutation = graphql(`
  mutation PlaceTd($td: String!, $host: String!) {
    placeTd(td: { name: $td }, host: { hostname: $host }) {
      __typename
      ... on MutationPlaceTdSuccess {
        data {
          name
          host {
            hostname
          }
        }
      }
      ... on PlacementRefused {
        message
        blockers {
          code
          message
        }
      }
      ... on NotFoundError {
        message
      }
      ... on ValidationError {
        message
        problems {
          field
          message
        }
      }
    }
  }
`);

export const MigrateTdMutation = graphql(`
  mutation MigrateTd($td: String!, $host: String!) {
    migrateTd(td: { name: $td }, targetHost: { hostname: $host }) {
      __typename
      ... on MutationMigrateTdSuccess {
        data {
          name
          host {
            hostname
          }
        }
      }
      ... on PlacementRefused {
        message
        blockers {
          code
          message
        }
      }
      ... on NotFoundError {
        message
      }
      ... on ValidationError {
        message
        problems {
          field
          message
        }
      }
    }
  }
`);

export type MoveOutcome =
  | { kind: 'done'; td: string; host: string }
  | { kind: 'refused'; message: string; blockers: readonly { code: string; message: string }[] }
  | { kind: 'failed'; error: ApiError };

export function useMove() {
  const place = useOperation(PlaceTdMutation);
  const migrate = useOperation(MigrateTdMutation);
  return async (kind: 'place' | 'migrate', td: string, host: string): Promise<MoveOutcome> => {
    try {
      const result = kind === 'place' ? (await place({ td, host })).placeTd : (await migrate({ td, host })).migrateTd;
      switch (result.__typename) {
        case 'MutationPlaceTdSuccess':
        case 'MutationMigrateTdSuccess':
          return { kind: 'done', td: result.data.name, host: result.data.host?.hostname ?? host };
        case 'PlacementRefused':
          return { kind: 'refused', message: result.message, blockers: result.blockers };
        case 'ValidationError':
          return { kind: 'failed', error: new ApiError('invalid', result.message, result.problems) };
        case 'NotFoundError':
          return { kind: 'failed', error: new ApiError('invalid', result.message) };
      }
    } catch (err) {
      return { kind: 'failed', error: err instanceof ApiError ? err : new ApiError('server', String(err)) };
    }
  };
}

export function MoveOutcomeNote({ outcome }: { outcome: MoveOutcome | undefined }) {
  if (!outcome) return null;
  if (outcome.kind === 'done') {
    return (
      <p className="success" role="status">
        {outcome.td} now runs on {outcome.host}.
      </p>
    );
  }
  if (outcome.kind === 'failed') return <ErrorNote error={outcome.error} />;
  return (
    <div className="error" role="alert">
      <p>Refused. Every blocker tdplan found:</p>
      <ul className="blockers">
        {outcome.blockers.map((b) => (
          <li key={b.code}>
            <code>{b.code}</code>: {b.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A button that asks for confirmation, then places or migrates `td` onto `host`. */
export function MoveButton({
  kind,
  td,
  host,
  label,
  onDone,
}: {
  kind: 'place' | 'migrate';
  td: string;
  host: string;
  label?: string;
  onDone(outcome: MoveOutcome): void;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const move = useMove();
  const verb = kind === 'place' ? 'Place' : 'Migrate';
  return (
    <>
      <button type="button" disabled={busy || !td || !host} onClick={() => setOpen(true)}>
        {label ?? `${verb}…`}
      </button>
      <Confirm
        open={open}
        title={`${verb} ${td}?`}
        confirmLabel={`${verb} ${td} on ${host}`}
        onCancel={() => setOpen(false)}
        onConfirm={() => {
          setOpen(false);
          setBusy(true);
          void move(kind, td, host).then((outcome) => {
            setBusy(false);
            onDone(outcome);
          });
        }}
      >
        <p>
          {verb} TD <strong>{td}</strong> {kind === 'place' ? 'on' : 'to'} host <strong>{host}</strong>. This changes the inventory and is recorded in the audit
          trail.
        </p>
      </Confirm>
    </>
  );
}
