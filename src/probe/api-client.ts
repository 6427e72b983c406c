// The probe's side of the GraphQL API: applyHostProbe (--apply) and checkHostDrift (--check).
// Failures become one sentence (ProbeApiError) for the command line.
import type { DriftDifference } from '../planning/drift.js';
import type { ProbeReport } from './report.js';

export class ProbeApiError extends Error {
  override readonly name = 'ProbeApiError';
}

interface GraphQLBody<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A mutation result: the Success's data, or a typed error (with `problems` for ValidationError). */
type Outcome<T> = { __typename: string; data?: T; message?: string; problems?: { field: string; message: string }[] };

async function call<T>(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ProbeApiError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  let body: GraphQLBody<T>;
  try {
    body = (await response.json()) as GraphQLBody<T>;
  } catch {
    throw new ProbeApiError(`${url} answered HTTP ${response.status} without a GraphQL response: is it tdplan's /graphql?`);
  }
  if (body.errors?.length) {
    const codes = body.errors.map((e) => (e.extensions?.code ? `${e.extensions.code}: ` : '') + e.message);
    throw new ProbeApiError(`${url} refused the request (HTTP ${response.status}): ${codes.join('; ')}`);
  }
  if (!body.data) throw new ProbeApiError(`${url} answered HTTP ${response.status} without data`);
  return body.data;
}

function unwrap<T>(what: string, outcome: Outcome<T>): T {
  if (outcome.data) return outcome.data;
  const problems = outcome.problems?.length ? `: ${outcome.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}` : '';
  throw new ProbeApiError(`${what} refused (${outcome.__typename})${problems || `: ${outcome.message ?? ''}`}`);
}

const ERRORS = '... on Error { message } ... on ValidationError { problems { field message } }';

export interface ApplyOutcome {
  hostCreated: boolean;
  hostChanged: boolean;
  kernelCreated: boolean;
  module: string | null;
}

export async function applyProbe(url: string, token: string, report: ProbeReport): Promise<ApplyOutcome> {
  const data = await call<{ applyHostProbe: Outcome<ApplyOutcome> }>(
    url,
    token,
    `mutation ApplyHostProbe($probe: HostProbeInput!) {
      applyHostProbe(probe: $probe) { __typename ... on MutationApplyHostProbeSuccess { data { hostCreated hostChanged kernelCreated module } } ${ERRORS} }
    }`,
    { probe: report },
  );
  return unwrap('applyHostProbe', data.applyHostProbe);
}

export interface CheckOutcome {
  drift: boolean;
  differences: DriftDifference[];
}

export async function checkDrift(url: string, token: string, report: ProbeReport): Promise<CheckOutcome> {
  const data = await call<{ checkHostDrift: Outcome<CheckOutcome> }>(
    url,
    token,
    `mutation CheckHostDrift($probe: HostProbeInput!) {
      checkHostDrift(probe: $probe) { __typename ... on MutationCheckHostDriftSuccess { data { drift differences { field predicted observed message } } } ${ERRORS} }
    }`,
    { probe: report },
  );
  return unwrap('checkHostDrift', data.checkHostDrift);
}
