// What `tdplan probe` sends: applyHostProbe (--apply) and checkHostDrift (--check), the host's last
// observation, and the drift it showed. The input is the probe's `--json` document as it is.
import { applyProbedHost, recordHostObservation } from '../../commands/probe.js';
import type { Prisma } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { DRIFT_FIELDS, type DriftDifference } from '../../planning/drift.js';
import { KERNEL_LOG_FAILURE_KINDS } from '../../probe/report.js';
import type { ProbeReport } from '../../probe/report.js';
import { builder } from '../builder.js';
import { inventoryErrorTypes } from './errors.js';

const KernelLogFailureKind = builder.enumType('KernelLogFailureKind', {
  description: 'A TDX failure line of the kernel log (arch/x86/virt/vmx/tdx/tdx.c, arch/x86/kvm/vmx/tdx.c).',
  values: Object.fromEntries(
    KERNEL_LOG_FAILURE_KINDS.map((kind) => [
      kind,
      {
        description: {
          MAX_VCPU_PER_TD_SMALLER: '"Disable TDX: MAX_VCPU_PER_TD (%u) smaller than number of logical CPUs (%u)"',
          RBP_CLOBBER_BUG: '"frame pointer (RBP) clobber bug present, upgrade TDX module"',
          MODULE_INIT_FAILED: '"module initialization failed"',
          NO_PRIVATE_KEYIDS: '"no TDX private KeyIDs available"',
        }[kind],
      },
    ]),
  ) as Record<(typeof KERNEL_LOG_FAILURE_KINDS)[number], { description: string }>,
});

const DriftFieldEnum = builder.enumType('DriftField', {
  description: 'What differs between a host and the plan.',
  values: Object.fromEntries(
    DRIFT_FIELDS.map((field) => [
      field,
      {
        description: {
          PLATFORM: 'The inventory records another platform.',
          MODULE: 'The inventory records another TDX module (or none) than the kernel log printed.',
          KERNEL: 'The inventory records another kernel than the host runs.',
          KVM_MAX_VCPUS: 'The inventory records another KVM_MAX_VCPUS for the kernel than its config says.',
          PRESENT_CPUS: 'The inventory records other present CPUs.',
          GUEST_KEY_IDS: 'The inventory records other guest KeyIDs than misc.capacity.',
          KVM_INTEL_TDX: 'The inventory records another kvm_intel.tdx than the loaded kvm_intel has.',
          MEMORY: 'The inventory records a RAM size more than 1% off MemTotal.',
          TDX_ENABLED: 'R1 predicts TDX enabled and it is not, or the other way round.',
          KVM_LOADS: 'The rules predict kvm_intel loads and it is not loaded, or the other way round.',
          TDX_DISABLED_REASON: 'The kernel log names a failing R1 condition the rules do not predict.',
          PAMT: 'The PAMT the kernel allocated is more than 1% off what R7 predicts.',
        }[field],
      },
    ]),
  ) as Record<(typeof DRIFT_FIELDS)[number], { description: string }>,
});

const ProbedHostInput = builder.inputType('ProbedHostInput', {
  description: 'The host as the probe read it (the `host` object of `tdplan probe --json`).',
  fields: (t) => ({
    hostname: t.string({ required: true, description: '/proc/sys/kernel/hostname.' }),
    platform: t.string({ description: 'The platform name; null when the probe could not tell.' }),
    module: t.string({ description: 'The TDX module version as the kernel log printed it; null when none.' }),
    kernel: t.string({ required: true, description: '/proc/sys/kernel/osrelease.' }),
    presentCpus: t.int({ required: true, description: 'CPUs in /sys/devices/system/cpu/present.' }),
    guestKeyIds: t.int({ required: true, description: 'The tdx line of /sys/fs/cgroup/misc.capacity (0 where absent).' }),
    kvmIntelTdx: t.boolean({ required: true, description: '/sys/module/kvm_intel/parameters/tdx (false where absent).' }),
    memoryMiB: t.int({ required: true, description: 'MemTotal of /proc/meminfo in MiB.' }),
  }),
});

const ProbedKernelInput = builder.inputType('ProbedKernelInput', {
  description: 'The kernel as the probe read it.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'The kernel release.' }),
    kvmMaxVcpus: t.int({ required: true, description: 'KVM_MAX_VCPUS from /boot/config-<release>.' }),
  }),
});

const KeyIdRangeInput = builder.inputType('KeyIdRangeInput', {
  description: 'A KeyID range [start, end).',
  fields: (t) => ({
    start: t.int({ required: true, description: 'First KeyID.' }),
    end: t.int({ required: true, description: 'One past the last KeyID.' }),
  }),
});

const KernelLogFailureInput = builder.inputType('KernelLogFailureInput', {
  description: 'A TDX failure line of the kernel log.',
  fields: (t) => ({
    kind: t.field({ type: KernelLogFailureKind, required: true, description: 'Which failure.' }),
    line: t.string({ required: true, description: 'The line as printed.' }),
    maxVcpusPerTd: t.int({ description: 'MAX_VCPU_PER_TD_SMALLER: the module limit printed.' }),
    logicalCpus: t.int({ description: 'MAX_VCPU_PER_TD_SMALLER: the logical CPUs printed.' }),
  }),
});

const KernelLogObservationInput = builder.inputType('KernelLogObservationInput', {
  description: 'What the kernel log said about TDX, and whether kvm_intel is loaded.',
  fields: (t) => ({
    moduleVersion: t.string({ description: 'The module version as printed.' }),
    pamtKiB: t.int({ description: '"N KB allocated for PAMT".' }),
    privateKeyIdRange: t.field({ type: KeyIdRangeInput, description: 'The private KeyID range the BIOS enabled.' }),
    initialized: t.boolean({ required: true, description: '"module initialized" was printed.' }),
    failures: t.field({ type: [KernelLogFailureInput], required: true, description: 'Every failure line, in log order.' }),
    kvmIntelLoaded: t.boolean({ required: true, description: '/sys/module/kvm_intel exists.' }),
  }),
});

const HostProbeInput = builder.inputType('HostProbeInput', {
  description: 'The document `tdplan probe --json` prints.',
  fields: (t) => ({
    host: t.field({ type: ProbedHostInput, required: true, description: 'The host.' }),
    kernel: t.field({ type: ProbedKernelInput, required: true, description: 'Its kernel.' }),
    observed: t.field({ type: KernelLogObservationInput, required: true, description: 'What the kernel log said.' }),
  }),
});

type HostProbeShape = typeof HostProbeInput.$inferInput;

/** The GraphQL input as the probe's own report (absent optionals become nulls). */
function probeReportOf(input: HostProbeShape): ProbeReport {
  const { host, kernel, observed } = input;
  if (host.hostname.trim() === '') throw new ValidationError([{ field: 'probe.host.hostname', message: 'must not be empty' }]);
  return {
    host: { ...host, platform: host.platform ?? null, module: host.module ?? null },
    kernel,
    observed: {
      moduleVersion: observed.moduleVersion ?? null,
      pamtKiB: observed.pamtKiB ?? null,
      privateKeyIdRange: observed.privateKeyIdRange ?? null,
      initialized: observed.initialized,
      kvmIntelLoaded: observed.kvmIntelLoaded,
      failures: observed.failures.map((f) => ({
        kind: f.kind,
        line: f.line,
        ...(f.maxVcpusPerTd != null ? { maxVcpusPerTd: f.maxVcpusPerTd } : {}),
        ...(f.logicalCpus != null ? { logicalCpus: f.logicalCpus } : {}),
      })),
    },
  };
}

const DriftDifferenceRef = builder.objectRef<DriftDifference>('DriftDifference').implement({
  description: 'One way a host differs from the plan.',
  fields: (t) => ({
    field: t.expose('field', { type: DriftFieldEnum, description: 'What differs.' }),
    predicted: t.exposeString('predicted', { description: 'What the inventory records or the rules predict.' }),
    observed: t.exposeString('observed', { description: 'What the host reported.' }),
    message: t.exposeString('message', { description: 'The difference in a sentence, with the numbers.' }),
  }),
});

const differencesOf = (value: Prisma.JsonValue): DriftDifference[] => (Array.isArray(value) ? (value as unknown as DriftDifference[]) : []);

builder.prismaObject('HostObservation', {
  description: 'The last report `tdplan probe --check` sent for a host, and how it compared with the plan.',
  fields: (t) => ({
    observedAt: t.string({ description: 'When it was received (ISO 8601).', select: { observedAt: true }, resolve: (o) => o.observedAt.toISOString() }),
    observedBy: t.exposeString('observedBy', { description: 'The API token name that sent it.' }),
    drift: t.exposeBoolean('drift', { description: 'Whether the host contradicted the plan then.' }),
    differences: t.field({
      type: [DriftDifferenceRef],
      description: 'Every difference found; empty without drift.',
      select: { differences: true },
      resolve: (o) => differencesOf(o.differences),
    }),
    probe: t.field({
      type: 'JSONObject',
      description: 'The probe report as sent: {host, kernel, observed}.',
      select: { probe: true },
      resolve: (o) => o.probe as Record<string, unknown>,
    }),
  }),
});

builder.prismaObjectField('Host', 'lastObservation', (t) =>
  t.relation('observation', { nullable: true, description: 'The last probe report checked for drift (checkHostDrift); null when none yet.' }),
);

interface ProbeApplied {
  hostId: number;
  hostCreated: boolean;
  hostChanged: boolean;
  kernelCreated: boolean;
  module: string | null;
}

const ProbeAppliedRef = builder.objectRef<ProbeApplied>('ProbeApplied').implement({
  description: 'What applyHostProbe wrote.',
  fields: (t) => ({
    host: t.prismaField({
      type: 'Host',
      description: 'The host as it is now.',
      resolve: (query, applied, _args, ctx) => ctx.prisma.host.findUniqueOrThrow({ ...query, where: { id: applied.hostId } }),
    }),
    hostCreated: t.exposeBoolean('hostCreated', { description: 'The host was new.' }),
    hostChanged: t.exposeBoolean('hostChanged', { description: 'The host was created or changed; false when the inventory already agreed.' }),
    kernelCreated: t.exposeBoolean('kernelCreated', { description: 'The kernel was unknown and was created with mainline behaviour.' }),
    module: t.exposeString('module', { nullable: true, description: 'The module version the printed one names; null when none.' }),
  }),
});

interface DriftCheck {
  hostId: number;
  drift: boolean;
  differences: DriftDifference[];
}

const HostDriftCheckRef = builder.objectRef<DriftCheck>('HostDriftCheck').implement({
  description: 'A drift check: the host against what tdplan records and predicts for it.',
  fields: (t) => ({
    host: t.prismaField({
      type: 'Host',
      description: 'The host checked.',
      resolve: (query, check, _args, ctx) => ctx.prisma.host.findUniqueOrThrow({ ...query, where: { id: check.hostId } }),
    }),
    drift: t.exposeBoolean('drift', { description: 'Whether the host contradicts the plan.' }),
    differences: t.field({ type: [DriftDifferenceRef], description: 'Every difference.', resolve: (c) => c.differences }),
  }),
});

builder.mutationFields((t) => ({
  applyHostProbe: t.field({
    type: ProbeAppliedRef,
    description:
      'Upserts the probed host (platform, module, kernel, present CPUs, guest KeyIDs; nothing else), creating its kernel with mainline behaviour when unknown. ' +
      'An unknown module version or platform is a ValidationError naming it, and nothing changes. ADMIN.',
    errors: { types: inventoryErrorTypes },
    args: { probe: t.arg({ type: HostProbeInput, required: true, description: 'The `tdplan probe --json` document.' }) },
    resolve: (_root, args, ctx) => applyProbedHost(ctx.db, ctx.principal, probeReportOf(args.probe)),
  }),
  checkHostDrift: t.field({
    type: HostDriftCheckRef,
    // Recording what a host reports changes no inventory: planners (and their probes) may.
    skipTypeScopes: true,
    authScopes: { planner: true },
    description:
      'Compares a probe report with what the inventory records and the rules predict for the host (TDX enabled, KVM loading, the reason, PAMT within 1%), ' +
      "and keeps it as the host's last observation. PLANNER.",
    errors: { types: [ValidationError, NotFoundError] },
    args: { probe: t.arg({ type: HostProbeInput, required: true, description: 'The `tdplan probe --json` document.' }) },
    resolve: (_root, args, ctx) => recordHostObservation(ctx.db, ctx.principal, probeReportOf(args.probe)),
  }),
}));
