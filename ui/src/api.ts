// The one way the UI talks to tdplan: POST /graphql on the page's own origin with the session's
// token. Failures become ApiError with a message written for people, by kind.
import type { TadaDocumentNode } from 'gql.tada';
import { print } from 'graphql';

export type ApiErrorKind = 'unreachable' | 'unauthenticated' | 'database' | 'forbidden' | 'invalid' | 'server';

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    /** Field problems of a VALIDATION_FAILED error. */
    readonly problems: readonly { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; role?: string; problems?: { field: string; message: string }[] };
}

const printed = new WeakMap<object, string>();
function source(document: object & Parameters<typeof print>[0]): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

const KEPT = 'Nothing was changed, and what you entered is kept.';

function errorFor(status: number, errors: GraphQLErrorBody[]): ApiError {
  const first = errors[0];
  const code = first?.extensions?.code;
  if (status === 401 || code === 'UNAUTHENTICATED') {
    return new ApiError('unauthenticated', 'Your API token was not accepted: it may have been revoked or mistyped. Sign in again to continue.');
  }
  if (code === 'DATABASE_UNAVAILABLE' || status === 503) {
    return new ApiError('database', `The tdplan database cannot be reached right now. ${KEPT} Try again in a moment.`);
  }
  if (code === 'FORBIDDEN') {
    const role = first?.extensions?.role;
    return new ApiError('forbidden', `Your role${role ? ` (${role.toLowerCase()})` : ''} may not do this. ${KEPT}`);
  }
  if (code === 'VALIDATION_FAILED') {
    return new ApiError('invalid', first?.message ?? 'The input is not valid.', first?.extensions?.problems ?? []);
  }
  if (first && status < 500) return new ApiError('invalid', first.message);
  return new ApiError('server', `tdplan could not answer (${first?.message ?? `HTTP ${status}`}). ${KEPT}`);
}

/** Runs a typed operation; resolves to its data or rejects with an ApiError. */
export async function request<Result, Variables>(
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
  token: string,
  signal?: AbortSignal,
): Promise<Result> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: source(document), variables }),
      signal: signal ?? null,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError('unreachable', `The tdplan server cannot be reached: is it running? ${KEPT}`);
  }
  let body: { data?: Result | null; errors?: GraphQLErrorBody[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw errorFor(response.status, []);
  }
  if (body.errors?.length || !body.data) throw errorFor(response.status, body.errors ?? []);
  return body.data;
}
