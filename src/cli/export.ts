// `tdplan export --format`: the inventory document (default), or tdplan's answers for schedulers.
import { InvalidArgumentError } from 'commander';
import { CliError } from '../cli-error.js';
import type { Database } from '../db/client.js';
import { nfdFeatureFile, nfdNodeFeatureRuleYaml } from '../exports/nfd.js';
import { novaProviderConfigYaml } from '../exports/nova.js';
import { loadSchedulerHosts, UnknownHostError } from '../exports/scheduler-hosts.js';
import { exportInventory } from '../inventory/export.js';

export const EXPORT_FORMATS = ['inventory', 'nova-provider-config', 'nfd'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function parseExportFormat(value: string): ExportFormat {
  if (!(EXPORT_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${EXPORT_FORMATS.join(', ')}`);
  return value as ExportFormat;
}

export async function exportText(db: Database, format: ExportFormat, hostname: string | undefined): Promise<string> {
  if (format === 'inventory') {
    if (hostname !== undefined) throw new CliError('--host applies to --format nova-provider-config and nfd, not to the inventory document', 2);
    return `${JSON.stringify(await exportInventory(db), null, 2)}\n`;
  }
  const hosts = await loadSchedulerHosts(db, hostname).catch((err: unknown) => {
    throw err instanceof UnknownHostError ? new CliError(`--host: ${err.message}`) : err;
  });
  if (format === 'nova-provider-config') return novaProviderConfigYaml(hosts);
  return hostname === undefined ? nfdNodeFeatureRuleYaml(hosts) : nfdFeatureFile(hosts[0]!);
}
