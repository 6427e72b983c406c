// A synthetic fleet written straight through Prisma, for tests of the read side.
import type { TestDatabase } from './database.js';

export interface FleetShape {
  hosts: number;
  tdsPerHost: number;
}

export async function createFleet(db: TestDatabase, shape: FleetShape): Promise<void> {
  const { prisma } = db;
  const spr = await prisma.platform.create({ data: { name: 'SPR-2S', sockets: 2, coresPerSocket: 56, threadsPerCore: 2 } });
  const emr = await prisma.platform.create({ data: { name: 'EMR-2S', sockets: 2, coresPerSocket: 64, threadsPerCore: 2 } });
  const m15 = await prisma.tdxModule.create({
    data: {
      version: '1.5.06.00.0744',
      maxVcpusPerTd: 576,
      features: ['TOPOLOGY_ENUM'],
      platforms: { create: [{ platformId: spr.id }, { platformId: emr.id }] },
    },
  });
  const kernel = await prisma.kernel.create({ data: { name: 'linux-6.16', kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS' } });
  await prisma.host.createMany({
    data: Array.from({ length: shape.hosts }, (_, i) => ({
      hostname: `host-${String(i).padStart(4, '0')}`,
      platformId: i % 2 ? spr.id : emr.id,
      moduleId: i % 5 === 4 ? null : m15.id,
      kernelId: kernel.id,
      presentCpus: i % 2 ? 224 : 256,
      guestKeyIds: 32,
    })),
  });
  const hosts = await prisma.host.findMany({ select: { id: true }, orderBy: { id: 'asc' } });
  await prisma.td.createMany({
    data: hosts.flatMap((h, i) => Array.from({ length: shape.tdsPerHost }, (_, j) => ({ name: `td-${i}-${j}`, vcpus: 8 * (j + 1), hostId: h.id }))),
  });
}
