// Who is signed in: the API token (sessionStorage only: gone when the browser session ends, never
// in a URL) and the role tdplan reports for it. A 401 anywhere asks to sign in again over the
// current screen, so what the user entered there stays.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { TadaDocumentNode } from 'gql.tada';
import { ApiError, request } from './api';
import { graphql } from './graphql';

export type Role = 'VIEWER' | 'PLANNER' | 'ADMIN';
const RANK: Record<Role, number> = { VIEWER: 0, PLANNER: 1, ADMIN: 2 };

const TOKEN_KEY = 'tdplan.token';

export const MeQuery = graphql(`
  query Me {
    me {
      name
      role
    }
  }
`);

interface SessionValue {
  token: string;
  name: string;
  role: Role;
  /** The role has at least `role`'s rights. */
  can(role: Role): boolean;
  /** Bumped after a new sign-in, so screens fetch again. */
  epoch: number;
  expired: boolean;
  markExpired(): void;
  signIn(token: string): Promise<void>;
  signOut(): void;
}

const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

export interface Identity {
  token: string;
  name: string;
  role: Role;
}

export function SessionProvider({ children, signInScreen }: { children: ReactNode; signInScreen: (expired: boolean) => ReactNode }) {
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [checking, setChecking] = useState(() => sessionStorage.getItem(TOKEN_KEY) !== null);
  const [expired, setExpired] = useState(false);
  const [epoch, setEpoch] = useState(0);

  const signIn = useCallback(async (token: string) => {
    const { me } = await request(MeQuery, {}, token);
    sessionStorage.setItem(TOKEN_KEY, token);
    setIdentity({ token, name: me.name, role: me.role });
    setExpired(false);
    setEpoch((e) => e + 1);
  }, []);

  // A token kept from earlier in this browser session: check it once.
  useEffect(() => {
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept === null) return;
    signIn(kept)
      .catch(() => sessionStorage.removeItem(TOKEN_KEY))
      .finally(() => setChecking(false));
  }, [signIn]);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setIdentity(null);
    setExpired(false);
  }, []);
  const markExpired = useCallback(() => setExpired(true), []);

  const value = useMemo<SessionValue | null>(
    () =>
      identity && {
        ...identity,
        can: (role: Role) => RANK[identity.role] >= RANK[role],
        epoch,
        expired,
        markExpired,
        signIn,
        signOut,
      },
    [identity, epoch, expired, markExpired, signIn, signOut],
  );

  if (checking) return <p className="loading">Checking your sign-in…</p>;
  if (!value) return <SignInContext.Provider value={signIn}>{signInScreen(false)}</SignInContext.Provider>;
  return (
    <SessionContext.Provider value={value}>
      <SignInContext.Provider value={signIn}>
        {children}
        {expired && signInScreen(true)}
      </SignInContext.Provider>
    </SessionContext.Provider>
  );
}

const SignInContext = createContext<((token: string) => Promise<void>) | null>(null);
export function useSignIn(): (token: string) => Promise<void> {
  const value = useContext(SignInContext);
  if (!value) throw new Error('useSignIn outside SessionProvider');
  return value;
}

export interface QueryState<Result> {
  data: Result | undefined;
  error: ApiError | undefined;
  loading: boolean;
  refetch(): void;
}

/**
 * Runs a typed query whenever its variables change (the last answer stays on screen while the next
 * loads); `skip` holds it back until the inputs are complete.
 */
export function useQuery<Result, Variables>(
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
  options: { skip?: boolean } = {},
): QueryState<Result> {
  const session = useSession();
  const [state, setState] = useState<{ data?: Result; error?: ApiError; loading: boolean }>({ loading: !options.skip });
  const [nonce, setNonce] = useState(0);
  const key = JSON.stringify(variables);
  const latest = useRef(variables);
  latest.current = variables;
  const { token, epoch, markExpired } = session;
  useEffect(() => {
    if (options.skip) {
      setState({ loading: false });
      return;
    }
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    request(document, latest.current, token, abort.signal).then(
      (data) => setState({ data, loading: false }),
      (err: unknown) => {
        if (abort.signal.aborted) return;
        const error = err instanceof ApiError ? err : new ApiError('server', String(err));
        if (error.kind === 'unauthenticated') markExpired();
        setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => abort.abort();
  }, [document, key, token, epoch, nonce, options.skip, markExpired]);
  return { data: state.data, error: state.error, loading: state.loading, refetch: () => setNonce((n) => n + 1) };
}

/** Runs a typed mutation (or a query on demand); an expired token asks to sign in again. */
export function useOperation<Result, Variables>(document: TadaDocumentNode<Result, Variables>) {
  const { token, markExpired } = useSession();
  return useCallback(
    async (variables: Variables): Promise<Result> => {
      try {
        return await request(document, variables, token);
      } catch (err) {
        if (err instanceof ApiError && err.kind === 'unauthenticated') markExpired();
        throw err;
      }
    },
    [document, token, markExpired],
  );
}
