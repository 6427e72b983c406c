// OpenStack Nova provider config (schema version 1.0, nova/compute/provider_config.py): one
// resource provider per host, identified by name (the compute node's hypervisor hostname), with
// custom traits flavors can require and the TDX KeyIDs as a custom inventory. nova-compute reads
// the *.yaml files of [compute] provider_config_location and applies the providers it manages.
import { stringify } from 'yaml';
import type { SchedulerHost } from './scheduler-hosts.js';

/** TD sizes a flavor can require, as traits: a host carries every step up to its KVM_CAP_MAX_VCPUS. */
export const TD_VCPU_STEPS: readonly number[] = Array.from({ length: 13 }, (_, i) => 2 ** i); // 1..4096 (KVM_MAX_VCPUS' largest)

export const NOVA_TRAIT = {
  tdxEnabled: 'CUSTOM_TDX_ENABLED',
  tdxDisabled: 'CUSTOM_TDX_DISABLED',
  kvmLoads: 'CUSTOM_KVM_LOADS',
  maxVcpus: (step: number) => `CUSTOM_TDX_MAX_VCPUS_${step}`,
  module: (version: string) => `CUSTOM_TDX_MODULE_${version.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`,
  disabledBecause: (code: string) => `CUSTOM_TDX_DISABLED_${code}`,
} as const;

/** One TDX private KeyID: every TD holds one while it runs (R4b). */
export const NOVA_KEYID_RESOURCE_CLASS = 'CUSTOM_TDX_KEYID';

interface InventoryRecord {
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
}

export interface NovaProvider {
  identification: { name: string };
  traits: { additional: string[] };
  inventories?: { additional: Record<string, InventoryRecord>[] };
}

export interface NovaProviderConfig {
  meta: { schema_version: '1.0' };
  providers: NovaProvider[];
}

export function novaProvider(host: SchedulerHost): NovaProvider {
  const { capacity } = host;
  const traits: string[] = [];
  if (host.kvmLoads) traits.push(NOVA_TRAIT.kvmLoads);
  if (host.module !== null) traits.push(NOVA_TRAIT.module(host.module));
  if (capacity.tdxEnabled && capacity.kvmCapMaxVcpus !== null) {
    const cap = capacity.kvmCapMaxVcpus;
    traits.push(NOVA_TRAIT.tdxEnabled, ...TD_VCPU_STEPS.filter((step) => step <= cap).map(NOVA_TRAIT.maxVcpus));
  } else {
    traits.push(NOVA_TRAIT.tdxDisabled, ...capacity.tdxDisabledReasons.map((r) => NOVA_TRAIT.disabledBecause(r.code)));
  }
  const provider: NovaProvider = { identification: { name: host.hostname }, traits: { additional: traits } };
  // Placement refuses an inventory of 0, and a host without TDX has no KeyID to give.
  if (capacity.tdxEnabled && host.guestKeyIds > 0) {
    provider.inventories = {
      additional: [{ [NOVA_KEYID_RESOURCE_CLASS]: { total: host.guestKeyIds, reserved: 0, min_unit: 1, max_unit: 1, step_size: 1, allocation_ratio: 1.0 } }],
    };
  }
  return provider;
}

export function novaProviderConfig(hosts: readonly SchedulerHost[]): NovaProviderConfig {
  return { meta: { schema_version: '1.0' }, providers: hosts.map(novaProvider) };
}

export function novaProviderConfigYaml(hosts: readonly SchedulerHost[]): string {
  return (
    '# OpenStack Nova provider config written by `tdplan export --format nova-provider-config`.\n' +
    '# Put it in [compute] provider_config_location (default /etc/nova/provider_config/) as a *.yaml file.\n' +
    stringify(novaProviderConfig(hosts))
  );
}
