// Negotiation (N1-N3): a module's floor and what binds it, the module x platform matrix as a heat
// map, and the what-if editor whose answer downloads as the text `tdplan report whatif` prints.
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { whatIfReportText, withEffect, WHATIF_REPORT_LIST_LIMIT, type Reason } from '../../../src/report-text';
import { ApiError } from '../api';
import { ErrorNote, Field, fmt, Loading } from '../components';
import { graphql, type ResultOf, type VariablesOf } from '../graphql';
import { useOperation, useQuery, useSession } from '../session';
import { HostFilterChoicesQuery } from '../queries';

export const FloorQuery = graphql(`
  query ModuleFloorScreen($version: String!) {
    moduleFloor(version: $version) {
      floor
      headroom
      boundBy
      effectiveMaxVcpusPerTd
      hostPresentCpus {
        ...Component
      }
      tdVcpus {
        ...Component
      }
      platformMaxLogicalCpus {
        ...Component
      }
    }
  }
  fragment Component on FloorComponent {
    value
    boundBy
    boundByCount
  }
`);

export const MatrixQuery = graphql(`
  query ModuleMatrixScreen($kvmMaxVcpus: Int!) {
    moduleMatrix(kvmMaxVcpus: $kvmMaxVcpus) {
      module {
        version
        maxVcpusPerTd
      }
      platform {
        name
      }
      maxLogicalCpus
      presentCpusPolicy {
        ...Outcome
      }
      moduleLimitPolicy {
        ...Outcome
      }
      mainlineKernel {
        ...Outcome
      }
    }
  }
  fragment Outcome on PolicyOutcome {
    tdxEnabled
    kvmLoads
    kvmCapMaxVcpus
    kvmCapMaxVcpusLimitedBy
    tdxDisabledReasons {
      code
      message
    }
  }
`);

export const WhatIfQuery = graphql(`
  query WhatIfScreen($c: WhatIfChanges!, $n: Int!) {
    whatIf(changes: $c) {
      hostsLosingTdx(first: $n) {
        totalCount
        edges {
          node {
            hostname
            tdxDisabledReasonsAfter {
              code
              message
              effect
            }
          }
        }
      }
      hostsLosingKvm(first: $n) {
        totalCount
        edges {
          node {
            hostname
            tdxDisabledReasonsAfter {
              code
              message
              effect
            }
          }
        }
      }
      hostsGainingTdx(first: $n) {
        totalCount
        edges {
          node {
            hostname
            kvmCapMaxVcpusAfter
          }
        }
      }
      hostsWithNewCap(first: $n) {
        totalCount
        edges {
          node {
            hostname
            kvmCapMaxVcpusBefore
            kvmCapMaxVcpusAfter
          }
        }
      }
      tdsNoLongerFitting(first: $n) {
        totalCount
        edges {
          node {
            name
            vcpus
            hostname
            kvmCapMaxVcpusAfter
          }
        }
      }
      tdsLeftWithoutMigrationTarget(first: $n) {
        totalCount
        edges {
          node {
            name
            vcpus
            hostname
          }
        }
      }
      capacityBefore {
        ...Capacity
      }
      capacityAfter {
        ...Capacity
      }
      capacityDelta {
        ...Capacity
      }
    }
  }
  fragment Capacity on WhatIfCapacity {
    tdxEnabledHosts
    kvmLoadFailingHosts
    tdSlots
    schedulableVcpus
    freeVcpus
    tdMemoryMiB
    freeMemoryMiB
  }
`);

type Changes = VariablesOf<typeof WhatIfQuery>['c'];
type Policy = 'PRESENT_CPUS' | 'MODULE_LIMIT';

function Floor({ modules }: { modules: string[] }) {
  const [version, setVersion] = useState('');
  const chosen = version || modules[0] || '';
  const { data, error, loading } = useQuery(FloorQuery, { version: chosen }, { skip: chosen === '' });
  const f = data?.moduleFloor;
  const row = (label: string, c: { value: number | null; boundBy: readonly string[]; boundByCount: number }, link: (n: string) => string | null) => (
    <tr>
      <th scope="row">{label}</th>
      <td className="num">{fmt(c.value)}</td>
      <td>
        {c.boundBy.map((n, i) => {
          const href = link(n);
          return (
            <span key={n}>
              {i > 0 && ', '}
              {href ? <Link href={href}>{n}</Link> : n}
            </span>
          );
        })}
        {c.boundByCount > c.boundBy.length && ` and ${fmt(c.boundByCount - c.boundBy.length)} more`}
      </td>
    </tr>
  );
  return (
    <section aria-labelledby="floor">
      <h2 id="floor">Module floor (N1)</h2>
      <Field label="Module">
        {(id) => (
          <>
            <select id={id} value={chosen} onChange={(e) => setVersion(e.target.value)}>
              {modules.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </>
        )}
      </Field>
      <ErrorNote error={error} />
      <Loading when={loading && !f} />
      {f && (
        <>
          <p data-testid="floor-summary">
            <strong>{chosen}</strong>: MAX_VCPUS_PER_TD floor <strong>{fmt(f.floor)}</strong> (reports {fmt(f.effectiveMaxVcpusPerTd)};{' '}
            {f.headroom >= 0 ? `${fmt(f.headroom)} above the floor` : <span className="off">{fmt(-f.headroom)} BELOW the floor</span>}), bound by{' '}
            {f.boundBy.join(' and ')}.
          </p>
          <table className="data">
            <thead>
              <tr>
                <th scope="col">component</th>
                <th scope="col" className="num">
                  value
                </th>
                <th scope="col">bound by</th>
              </tr>
            </thead>
            <tbody>
              {row('(a) present CPUs of its hosts', f.hostPresentCpus, (n) => `/hosts/${encodeURIComponent(n)}`)}
              {row('(b) vCPUs of TDs on them', f.tdVcpus, (n) => `/tds/${encodeURIComponent(n)}`)}
              {row('(c) logical CPUs of its platforms', f.platformMaxLogicalCpus, () => null)}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

type Cell = ResultOf<typeof MatrixQuery>['moduleMatrix'][number];

function Matrix() {
  const [kvmText, setKvmText] = useState('4096');
  const [policy, setPolicy] = useState<Policy | 'MAINLINE'>('PRESENT_CPUS');
  const outcomeOf = (c: Cell) => (policy === 'PRESENT_CPUS' ? c.presentCpusPolicy : policy === 'MODULE_LIMIT' ? c.moduleLimitPolicy : c.mainlineKernel);
  const kvm = Number(kvmText);
  const valid = /^\d+$/.test(kvmText) && kvm >= 1 && kvm <= 4096;
  const { data, error, loading } = useQuery(MatrixQuery, { kvmMaxVcpus: valid ? kvm : 4096 }, { skip: !valid });
  const cells = data?.moduleMatrix ?? [];
  const modules = [...new Map(cells.map((c) => [c.module.version, c.module])).values()];
  const platforms = [...new Set(cells.map((c) => c.platform.name))].sort();
  const maxCap = Math.max(1, ...cells.map((c) => outcomeOf(c).kvmCapMaxVcpus ?? 0));
  const cellOf = (m: string, p: string): Cell | undefined => cells.find((c) => c.module.version === m && c.platform.name === p);
  return (
    <section aria-labelledby="matrix">
      <h2 id="matrix">Module × platform, fully populated (N3)</h2>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="KVM_MAX_VCPUS">
          {(id) => (
            <>
              <input id={id} inputMode="numeric" value={kvmText} onChange={(e) => setKvmText(e.target.value)} aria-invalid={!valid} size={6} />
            </>
          )}
        </Field>

        <Field label="Kernel policy">
          {(id) => (
            <>
              <select id={id} value={policy} onChange={(e) => setPolicy(e.target.value as Policy | 'MAINLINE')}>
                <option value="PRESENT_CPUS">PRESENT_CPUS (upstream)</option>
                <option value="MODULE_LIMIT">MODULE_LIMIT (v19)</option>
                <option value="MAINLINE">mainline (PRESENT_CPUS, STRICT, FAIL_KVM_LOAD)</option>
              </select>
            </>
          )}
        </Field>
      </form>
      {!valid && (
        <p className="error" role="alert">
          KVM_MAX_VCPUS must be a whole number from 1 to 4096.
        </p>
      )}
      <ErrorNote error={error} />
      <Loading when={loading && !data} />
      {data && (
        <div className="scroll">
          <table className="heat" data-testid="matrix">
            <caption>
              Effective KVM_CAP_MAX_VCPUS of a TD when every CPU of the platform is present; darker is higher, red cells have TDX off. Blank: the module does
              not support the platform.
            </caption>
            <thead>
              <tr>
                <th scope="col">module (MAX_VCPUS_PER_TD)</th>
                {platforms.map((p) => (
                  <th scope="col" key={p}>
                    {p}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {modules.map((m) => (
                <tr key={m.version}>
                  <th scope="row">
                    {m.version} ({m.maxVcpusPerTd ?? 'not reported'})
                  </th>
                  {platforms.map((p) => {
                    const cell = cellOf(m.version, p);
                    if (!cell) return <td key={p} className="heat-none" />;
                    const o = outcomeOf(cell);
                    if (!o.tdxEnabled) {
                      return (
                        <td key={p} className="heat-off" title={o.tdxDisabledReasons.map((r) => r.message).join('; ')}>
                          {o.kvmLoads ? 'off' : 'KVM fails to load'}: {o.tdxDisabledReasons.map((r) => r.code).join(', ')}
                        </td>
                      );
                    }
                    const share = (o.kvmCapMaxVcpus ?? 0) / maxCap;
                    // Light to mid green, dark text throughout: readable at every step (WCAG AA contrast).
                    const lightness = Math.round(94 - share * 42);
                    return (
                      <td
                        key={p}
                        style={{ background: `hsl(150 45% ${lightness}%)`, color: '#0b2616' }}
                        title={`bound by ${o.kvmCapMaxVcpusLimitedBy.join(', ')}`}
                      >
                        cap {fmt(o.kvmCapMaxVcpus)}
                        <span className="sub"> of {fmt(cell.maxLogicalCpus)} CPUs</span>
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

type Features = '' | 'TOPOLOGY_ENUM NO_RBP_MOD' | 'TOPOLOGY_ENUM' | 'NO_RBP_MOD' | 'none';
interface ModuleRow {
  version: string;
  limit: string;
  features: Features;
}
interface KernelRow {
  name: string;
  policy: Policy | '';
  kvmMaxVcpus: string;
  initFailure: '' | 'FAIL_KVM_LOAD' | 'DISABLE_TDX';
  metadata: '' | 'STRICT' | 'LENIENT';
}
interface MoveRow {
  hosts: string;
  fromModule: string;
  fromKernel: string;
  toModule: string;
  toKernel: string;
}
interface HostRow {
  hostname: string;
  presentCpus: string;
  memoryMiB: string;
  reservedMemoryMiB: string;
  kvmIntelTdx: '' | 'true' | 'false';
}
interface TdRow {
  name: string;
  memoryMiB: string;
}

/** The editor's rows as the WhatIfChanges input; problems name the row and field. */
export function changesOf(
  modules: ModuleRow[],
  kernels: KernelRow[],
  moves: MoveRow[],
  hosts: HostRow[],
  tds: TdRow[],
): { changes: Changes; problems: string[] } {
  const problems: string[] = [];
  const int = (text: string, what: string): number | null => {
    if (!/^\d+$/.test(text.trim())) {
      problems.push(`${what} must be a whole number`);
      return null;
    }
    return Number(text.trim());
  };
  const changes = {
    modules: modules.map((m, i) => ({
      module: { version: m.version },
      ...(m.limit.trim() === ''
        ? {}
        : { maxVcpusPerTd: m.limit.trim() === 'null' ? null : int(m.limit, `module change ${i + 1}: MAX_VCPUS_PER_TD (or null)`) }),
      ...(m.features === '' ? {} : { features: m.features === 'none' ? [] : (m.features.split(' ') as ('TOPOLOGY_ENUM' | 'NO_RBP_MOD')[]) }),
    })),
    kernels: kernels.map((k, i) => ({
      kernel: { name: k.name },
      ...(k.policy ? { tdxVcpuPolicy: k.policy } : {}),
      ...(k.kvmMaxVcpus.trim() ? { kvmMaxVcpus: int(k.kvmMaxVcpus, `kernel change ${i + 1}: KVM_MAX_VCPUS`) } : {}),
      ...(k.initFailure ? { tdxInitFailure: k.initFailure } : {}),
      ...(k.metadata ? { moduleMetadata: k.metadata } : {}),
    })),
    hostMoves: moves.map((m) => {
      const listed = m.hosts
        .split(/[\s,]+/)
        .map((h) => h.trim())
        .filter(Boolean);
      return {
        ...(listed.length ? { hosts: listed.map((hostname) => ({ hostname })) } : {}),
        ...(m.fromModule ? { fromModule: { version: m.fromModule } } : {}),
        ...(m.fromKernel ? { fromKernel: { name: m.fromKernel } } : {}),
        ...(m.toModule ? { toModule: { version: m.toModule } } : {}),
        ...(m.toKernel ? { toKernel: { name: m.toKernel } } : {}),
      };
    }),
    hosts: hosts.map((h, i) => ({
      host: { hostname: h.hostname.trim() },
      ...(h.presentCpus.trim() ? { presentCpus: int(h.presentCpus, `host change ${i + 1}: present CPUs`) } : {}),
      ...(h.memoryMiB.trim() ? { memoryMiB: int(h.memoryMiB, `host change ${i + 1}: memory (MiB)`) } : {}),
      ...(h.reservedMemoryMiB.trim() ? { reservedMemoryMiB: int(h.reservedMemoryMiB, `host change ${i + 1}: reserved memory (MiB)`) } : {}),
      ...(h.kvmIntelTdx ? { kvmIntelTdx: h.kvmIntelTdx === 'true' } : {}),
    })),
    tds: tds.map((t, i) => ({ td: { name: t.name.trim() }, memoryMiB: int(t.memoryMiB, `TD change ${i + 1}: memory (MiB)`) })),
  };
  return { changes, problems };
}

function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function WhatIfEditor({ modules, kernels }: { modules: string[]; kernels: string[] }) {
  const run = useOperation(WhatIfQuery);
  const [moduleRows, setModuleRows] = useState<ModuleRow[]>([]);
  const [kernelRows, setKernelRows] = useState<KernelRow[]>([]);
  const [moveRows, setMoveRows] = useState<MoveRow[]>([]);
  const [hostRows, setHostRows] = useState<HostRow[]>([]);
  const [tdRows, setTdRows] = useState<TdRow[]>([]);
  const [answer, setAnswer] = useState<{ changes: Changes; whatIf: ResultOf<typeof WhatIfQuery>['whatIf'] }>();
  const [error, setError] = useState<ApiError>();
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const update = <T,>(set: (f: (rows: T[]) => T[]) => void, i: number, patch: Partial<T>) =>
    set((rows) => rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const remove = <T,>(set: (f: (rows: T[]) => T[]) => void, i: number) => set((rows) => rows.filter((_, j) => j !== i));
  const opts = (values: string[], blank?: string) => (
    <>
      {blank !== undefined && <option value="">{blank}</option>}
      {values.map((v) => (
        <option key={v}>{v}</option>
      ))}
    </>
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { changes, problems } = changesOf(moduleRows, kernelRows, moveRows, hostRows, tdRows);
    setProblems(problems);
    setError(undefined);
    if (problems.length) return;
    setBusy(true);
    try {
      const r = await run({ c: changes, n: WHATIF_REPORT_LIST_LIMIT });
      setAnswer({ changes, whatIf: r.whatIf });
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError('server', String(err)));
    } finally {
      setBusy(false);
    }
  };
  const empty = moduleRows.length + kernelRows.length + moveRows.length + hostRows.length + tdRows.length === 0;
  const w = answer?.whatIf;
  const keys = ['tdxEnabledHosts', 'kvmLoadFailingHosts', 'tdSlots', 'schedulableVcpus', 'freeVcpus', 'tdMemoryMiB', 'freeMemoryMiB'] as const;
  // The reasons as `tdplan report whatif` words them.
  const why = (reasons: readonly Reason[]) => reasons.map((r) => withEffect(r, r.message)).join('; ');
  return (
    <section aria-labelledby="whatif">
      <h2 id="whatif">What if… (N2)</h2>
      <form className="whatif" onSubmit={submit}>
        <fieldset>
          <legend>Module MAX_VCPUS_PER_TD</legend>
          {moduleRows.map((r, i) => (
            <div className="row" key={i}>
              <Field label="Module">
                {(id) => (
                  <>
                    <select id={id} value={r.version} onChange={(e) => update(setModuleRows, i, { version: e.target.value })}>
                      {opts(modules)}
                    </select>
                  </>
                )}
              </Field>
              <Field label="New MAX_VCPUS_PER_TD">
                {(id) => (
                  <>
                    <input
                      id={id}
                      value={r.limit}
                      onChange={(e) => update(setModuleRows, i, { limit: e.target.value })}
                      size={6}
                      placeholder="e.g. 512 or null"
                    />
                  </>
                )}
              </Field>
              <Field label="Features">
                {(id) => (
                  <select id={id} value={r.features} onChange={(e) => update(setModuleRows, i, { features: e.target.value as typeof r.features })}>
                    <option value="">unchanged</option>
                    <option value="TOPOLOGY_ENUM NO_RBP_MOD">TOPOLOGY_ENUM, NO_RBP_MOD</option>
                    <option value="TOPOLOGY_ENUM">TOPOLOGY_ENUM</option>
                    <option value="NO_RBP_MOD">NO_RBP_MOD</option>
                    <option value="none">none</option>
                  </select>
                )}
              </Field>
              <button type="button" onClick={() => remove(setModuleRows, i)}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setModuleRows((rows) => [...rows, { version: modules[0] ?? '', limit: '', features: '' }])}>
            Add a module change
          </button>
        </fieldset>
        <fieldset>
          <legend>Kernel behaviour</legend>
          {kernelRows.map((r, i) => (
            <div className="row" key={i}>
              <Field label="Kernel">
                {(id) => (
                  <>
                    <select id={id} value={r.name} onChange={(e) => update(setKernelRows, i, { name: e.target.value })}>
                      {opts(kernels)}
                    </select>
                  </>
                )}
              </Field>
              <Field label="Policy">
                {(id) => (
                  <>
                    <select id={id} value={r.policy} onChange={(e) => update(setKernelRows, i, { policy: e.target.value as Policy | '' })}>
                      <option value="">unchanged</option>
                      <option value="PRESENT_CPUS">PRESENT_CPUS</option>
                      <option value="MODULE_LIMIT">MODULE_LIMIT</option>
                    </select>
                  </>
                )}
              </Field>
              <Field label="KVM_MAX_VCPUS">
                {(id) => (
                  <>
                    <input
                      id={id}
                      value={r.kvmMaxVcpus}
                      onChange={(e) => update(setKernelRows, i, { kvmMaxVcpus: e.target.value })}
                      size={6}
                      placeholder="unchanged"
                    />
                  </>
                )}
              </Field>
              <Field label="When TDX init fails">
                {(id) => (
                  <select id={id} value={r.initFailure} onChange={(e) => update(setKernelRows, i, { initFailure: e.target.value as typeof r.initFailure })}>
                    <option value="">unchanged</option>
                    <option value="FAIL_KVM_LOAD">FAIL_KVM_LOAD (mainline)</option>
                    <option value="DISABLE_TDX">DISABLE_TDX (v19)</option>
                  </select>
                )}
              </Field>
              <Field label="Module metadata">
                {(id) => (
                  <select id={id} value={r.metadata} onChange={(e) => update(setKernelRows, i, { metadata: e.target.value as typeof r.metadata })}>
                    <option value="">unchanged</option>
                    <option value="STRICT">STRICT</option>
                    <option value="LENIENT">LENIENT</option>
                  </select>
                )}
              </Field>
              <button type="button" onClick={() => remove(setKernelRows, i)}>
                Remove
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() => setKernelRows((rows) => [...rows, { name: kernels[0] ?? '', policy: '', kvmMaxVcpus: '', initFailure: '', metadata: '' }])}
          >
            Add a kernel change
          </button>
        </fieldset>
        <fieldset>
          <legend>Host moves (listed hosts, or every host of a module or kernel)</legend>
          {moveRows.map((r, i) => (
            <div className="row" key={i}>
              <Field label="Hosts">
                {(id) => (
                  <>
                    <input id={id} value={r.hosts} onChange={(e) => update(setMoveRows, i, { hosts: e.target.value })} placeholder="host-a, host-b" size={24} />
                  </>
                )}
              </Field>
              <Field label="From module">
                {(id) => (
                  <>
                    <select id={id} value={r.fromModule} onChange={(e) => update(setMoveRows, i, { fromModule: e.target.value })}>
                      {opts(modules, '–')}
                    </select>
                  </>
                )}
              </Field>
              <Field label="From kernel">
                {(id) => (
                  <>
                    <select id={id} value={r.fromKernel} onChange={(e) => update(setMoveRows, i, { fromKernel: e.target.value })}>
                      {opts(kernels, '–')}
                    </select>
                  </>
                )}
              </Field>
              <Field label="To module">
                {(id) => (
                  <>
                    <select id={id} value={r.toModule} onChange={(e) => update(setMoveRows, i, { toModule: e.target.value })}>
                      {opts(modules, 'unchanged')}
                    </select>
                  </>
                )}
              </Field>
              <Field label="To kernel">
                {(id) => (
                  <>
                    <select id={id} value={r.toKernel} onChange={(e) => update(setMoveRows, i, { toKernel: e.target.value })}>
                      {opts(kernels, 'unchanged')}
                    </select>
                  </>
                )}
              </Field>
              <button type="button" onClick={() => remove(setMoveRows, i)}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setMoveRows((rows) => [...rows, { hosts: '', fromModule: '', fromKernel: '', toModule: '', toKernel: '' }])}>
            Add a host move
          </button>
        </fieldset>
        <fieldset>
          <legend>Hosts: present CPUs, memory, TDX requested</legend>
          {hostRows.map((r, i) => (
            <div className="row" key={i}>
              <Field label="Host">
                {(id) => (
                  <>
                    <input id={id} value={r.hostname} onChange={(e) => update(setHostRows, i, { hostname: e.target.value })} size={18} />
                  </>
                )}
              </Field>
              <Field label="Present CPUs">
                {(id) => (
                  <>
                    <input id={id} value={r.presentCpus} onChange={(e) => update(setHostRows, i, { presentCpus: e.target.value })} size={6} />
                  </>
                )}
              </Field>
              <Field label="Memory (MiB)">
                {(id) => (
                  <input id={id} value={r.memoryMiB} onChange={(e) => update(setHostRows, i, { memoryMiB: e.target.value })} size={8} placeholder="unchanged" />
                )}
              </Field>
              <Field label="Reserved (MiB)">
                {(id) => (
                  <input
                    id={id}
                    value={r.reservedMemoryMiB}
                    onChange={(e) => update(setHostRows, i, { reservedMemoryMiB: e.target.value })}
                    size={8}
                    placeholder="unchanged"
                  />
                )}
              </Field>
              <Field label="kvm_intel.tdx">
                {(id) => (
                  <select id={id} value={r.kvmIntelTdx} onChange={(e) => update(setHostRows, i, { kvmIntelTdx: e.target.value as typeof r.kvmIntelTdx })}>
                    <option value="">unchanged</option>
                    <option value="true">1 (requested)</option>
                    <option value="false">0 (not requested)</option>
                  </select>
                )}
              </Field>
              <button type="button" onClick={() => remove(setHostRows, i)}>
                Remove
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() => setHostRows((rows) => [...rows, { hostname: '', presentCpus: '', memoryMiB: '', reservedMemoryMiB: '', kvmIntelTdx: '' }])}
          >
            Add a host change
          </button>
        </fieldset>
        <fieldset>
          <legend>TD memory</legend>
          {tdRows.map((r, i) => (
            <div className="row" key={i}>
              <Field label="TD">{(id) => <input id={id} value={r.name} onChange={(e) => update(setTdRows, i, { name: e.target.value })} size={18} />}</Field>
              <Field label="TD memory (MiB)">
                {(id) => <input id={id} value={r.memoryMiB} onChange={(e) => update(setTdRows, i, { memoryMiB: e.target.value })} size={8} />}
              </Field>
              <button type="button" onClick={() => remove(setTdRows, i)}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setTdRows((rows) => [...rows, { name: '', memoryMiB: '' }])}>
            Add a TD change
          </button>
        </fieldset>
        <button type="submit" className="primary" disabled={busy || empty}>
          {busy ? 'Working it out…' : 'Show the impact'}
        </button>
      </form>
      {problems.length > 0 && (
        <div className="error" role="alert">
          <ul>
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <ErrorNote error={error} />
      {answer && w && (
        <div className="answer" data-testid="whatif-answer">
          <div className="actions">
            <button type="button" onClick={() => download('tdplan-whatif.txt', whatIfReportText(answer.changes, w))}>
              Download as text
            </button>
            <span className="hint">
              the text of <code>tdplan report whatif --changes '{JSON.stringify(answer.changes)}'</code>
            </span>
          </div>
          <table className="data">
            <caption>Fleet capacity before and after</caption>
            <thead>
              <tr>
                <th scope="col">capacity</th>
                <th scope="col" className="num">
                  before
                </th>
                <th scope="col" className="num">
                  after
                </th>
                <th scope="col" className="num">
                  change
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td className="num">{fmt(w.capacityBefore[k])}</td>
                  <td className="num">{fmt(w.capacityAfter[k])}</td>
                  <td className={`num ${w.capacityDelta[k] < 0 ? 'off' : ''}`}>
                    {w.capacityDelta[k] > 0 ? '+' : ''}
                    {fmt(w.capacityDelta[k])}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Impact
            title="Hosts losing TDX"
            total={w.hostsLosingTdx.totalCount}
            rows={w.hostsLosingTdx.edges.map((e) => [e.node.hostname, why(e.node.tdxDisabledReasonsAfter)])}
            header={['host', 'why']}
            hostColumn
          />
          <Impact
            title="Hosts whose KVM would fail to load"
            total={w.hostsLosingKvm.totalCount}
            rows={w.hostsLosingKvm.edges.map((e) => [e.node.hostname, why(e.node.tdxDisabledReasonsAfter)])}
            header={['host', 'why']}
            hostColumn
          />
          <Impact
            title="Hosts gaining TDX"
            total={w.hostsGainingTdx.totalCount}
            rows={w.hostsGainingTdx.edges.map((e) => [e.node.hostname, fmt(e.node.kvmCapMaxVcpusAfter)])}
            header={['host', 'cap']}
            hostColumn
          />
          <Impact
            title="Hosts with a new KVM_CAP_MAX_VCPUS"
            total={w.hostsWithNewCap.totalCount}
            rows={w.hostsWithNewCap.edges.map((e) => [e.node.hostname, fmt(e.node.kvmCapMaxVcpusBefore), fmt(e.node.kvmCapMaxVcpusAfter)])}
            header={['host', 'before', 'after']}
            hostColumn
          />
          <Impact
            title="TDs that would no longer fit where they run"
            total={w.tdsNoLongerFitting.totalCount}
            rows={w.tdsNoLongerFitting.edges.map((e) => [e.node.name, fmt(e.node.vcpus), e.node.hostname, fmt(e.node.kvmCapMaxVcpusAfter)])}
            header={['TD', 'vCPUs', 'host', 'new cap']}
          />
          <Impact
            title="TDs left with no migration target"
            total={w.tdsLeftWithoutMigrationTarget.totalCount}
            rows={w.tdsLeftWithoutMigrationTarget.edges.map((e) => [e.node.name, fmt(e.node.vcpus), e.node.hostname])}
            header={['TD', 'vCPUs', 'host']}
          />
        </div>
      )}
    </section>
  );
}

function Impact({ title, total, rows, header, hostColumn }: { title: string; total: number; rows: string[][]; header: string[]; hostColumn?: boolean }) {
  return (
    <section className="impact">
      <h3>
        {title}: <span data-testid={`impact-${title}`}>{fmt(total)}</span>
      </h3>
      {rows.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              {header.map((h) => (
                <th scope="col" key={h}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.join('|')}>
                {r.map((c, i) => (
                  <td key={i}>{i === 0 && hostColumn ? <Link href={`/hosts/${encodeURIComponent(c)}`}>{c}</Link> : c}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {total > rows.length && <p className="hint">and {fmt(total - rows.length)} more</p>}
    </section>
  );
}

export function NegotiationScreen() {
  const session = useSession();
  const choices = useQuery(HostFilterChoicesQuery, {});
  const modules = choices.data?.modules.edges.map((e) => e.node.version) ?? [];
  const kernels = choices.data?.kernels.edges.map((e) => e.node.name) ?? [];
  return (
    <>
      <h1>Negotiation</h1>
      <p>
        <Link href="/scenarios">Scenarios</Link>: proposals with their impact now, comments and decisions.
      </p>
      <ErrorNote error={choices.error} />
      {choices.data && <Floor modules={modules} />}
      <Matrix />
      {session.can('PLANNER') ? <WhatIfEditor modules={modules} kernels={kernels} /> : <p className="hint">What-if questions need a planner or admin token.</p>}
    </>
  );
}
