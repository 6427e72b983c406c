// The planning UI: sign-in, then the screens, each under a hash route (#/hosts/emr-a01) so that the
// server only ever serves index.html and its assets.
import { useState, type FormEvent } from 'react';
import { Link, Route, Router, Switch, useLocation } from 'wouter';
import { useHashLocation } from 'wouter/use-hash-location';
import { ApiError } from './api';
import { ErrorNote } from './components';
import { SessionProvider, useSession, useSignIn } from './session';
import { AuditScreen } from './screens/Audit';
import { FleetScreen } from './screens/Fleet';
import { HostScreen } from './screens/Host';
import { HostsScreen } from './screens/Hosts';
import { NegotiationScreen } from './screens/Negotiation';
import { PlacementScreen } from './screens/Placement';
import { ScenarioScreen, ScenariosScreen } from './screens/Scenarios';
import { TdScreen } from './screens/Td';

export function App() {
  return (
    <Router hook={useHashLocation}>
      <SessionProvider signInScreen={(expired) => <SignIn expired={expired} />}>
        <Shell />
      </SessionProvider>
    </Router>
  );
}

function SignIn({ expired }: { expired: boolean }) {
  const signIn = useSignIn();
  const [token, setToken] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(token.trim());
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError('server', String(err)));
    } finally {
      setBusy(false);
    }
  };
  const form = (
    <form className="signin" onSubmit={submit} aria-labelledby="signin-title">
      <h1 id="signin-title">{expired ? 'Sign in again' : 'tdplan: sign in'}</h1>
      {expired && <p>Your API token is no longer accepted (revoked or replaced). Sign in with a valid token: this screen keeps what you entered.</p>}
      <label htmlFor="token">API token</label>
      <input id="token" name="token" type="password" autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} placeholder="tdp_…" />
      <p className="hint">
        Create one with <code>tdplan token create --name you --role viewer|planner|admin</code>. It is kept for this browser session only.
      </p>
      <ErrorNote error={error} />
      <button type="submit" className="primary" disabled={busy || token.trim() === ''}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
  if (expired) {
    return (
      <div className="overlay" role="dialog" aria-modal="true" aria-labelledby="signin-title">
        {form}
      </div>
    );
  }
  return <main className="signin-page">{form}</main>;
}

function NavLink({ href, children }: { href: string; children: string }) {
  const [location] = useLocation();
  const active = href === '/' ? location === '/' : location.startsWith(href);
  return (
    <Link href={href} className={active ? 'active' : ''} aria-current={active ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function Shell() {
  const session = useSession();
  return (
    <>
      <header className="top">
        <span className="brand">tdplan</span>
        <nav aria-label="Screens">
          <NavLink href="/">Fleet</NavLink>
          <NavLink href="/hosts">Hosts</NavLink>
          <NavLink href="/placement">Placement</NavLink>
          <NavLink href="/negotiation">Negotiation</NavLink>
          {session.can('ADMIN') && <NavLink href="/audit">Audit</NavLink>}
          <a href="/graphql">GraphiQL</a>
        </nav>
        <span className="who">
          <span data-testid="who">
            {session.name} ({session.role.toLowerCase()})
          </span>
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main">
        <Switch>
          <Route path="/" component={FleetScreen} />
          <Route path="/hosts" component={HostsScreen} />
          <Route path="/hosts/:hostname">{(p) => <HostScreen hostname={decodeURIComponent(p.hostname)} />}</Route>
          <Route path="/tds/:name">{(p) => <TdScreen name={decodeURIComponent(p.name)} />}</Route>
          <Route path="/placement" component={PlacementScreen} />
          <Route path="/negotiation" component={NegotiationScreen} />
          <Route path="/scenarios" component={ScenariosScreen} />
          <Route path="/scenarios/:id">{(p) => <ScenarioScreen id={decodeURIComponent(p.id)} />}</Route>
          <Route path="/audit">{session.can('ADMIN') ? <AuditScreen /> : <p>Only admins see the audit trail.</p>}</Route>
          <Route>
            <h1>Not found</h1>
            <p>
              No such screen. <Link href="/">Back to the fleet</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </>
  );
}
