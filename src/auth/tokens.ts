// API tokens: who may read, plan, or change the fleet. A token is 256 random bits shown once;
// only its SHA-256 is stored, so a leaked database does not leak usable tokens. A slow password
// hash would buy nothing for random secrets and would cost every request.
import { createHash, randomBytes } from 'node:crypto';
import type { Prisma, PrismaClient } from '../db/client.js';
import type { ApiRole } from '../generated/prisma/client.js';
import { recordAudit } from '../audit/record.js';

export type { ApiRole };
export const API_ROLES: readonly ApiRole[] = ['VIEWER', 'PLANNER', 'ADMIN'];

/** Who is asking: a token's name and role. */
export interface Principal {
  /** The token's name, or a fixed name for the CLI and for a server run with auth off. */
  name: string;
  role: ApiRole;
}

const RANK: Record<ApiRole, number> = { VIEWER: 0, PLANNER: 1, ADMIN: 2 };

/** Each role includes the ones below it: an admin may do what a planner may. */
export function roleAllows(role: ApiRole, needed: ApiRole): boolean {
  return RANK[role] >= RANK[needed];
}

const TOKEN_PREFIX = 'tdp_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The token of an `Authorization: Bearer <token>` header; null when absent or of another scheme. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/** The principal a token stands for; null when unknown or revoked. */
export async function authenticate(prisma: PrismaClient, token: string): Promise<Principal | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const row = await prisma.apiToken.findUnique({ where: { tokenHash: hashToken(token) }, select: { name: true, role: true, revokedAt: true } });
  return row && !row.revokedAt ? { name: row.name, role: row.role } : null;
}

export interface TokenInfo {
  id: number;
  name: string;
  role: ApiRole;
  createdAt: Date;
  revokedAt: Date | null;
}

export class TokenNameTakenError extends Error {
  override readonly name = 'TokenNameTakenError';
  constructor(readonly tokenName: string) {
    super(`an API token named ${JSON.stringify(tokenName)} exists already (revoke it, or choose another name)`);
  }
}

export class TokenNotFoundError extends Error {
  override readonly name = 'TokenNotFoundError';
  constructor(readonly tokenName: string) {
    super(`no active API token named ${JSON.stringify(tokenName)}`);
  }
}

export class InvalidTokenNameError extends Error {
  override readonly name = 'InvalidTokenNameError';
  constructor(readonly tokenName: string) {
    super(`an API token name must be 1 to 100 characters of letters, digits, ".", "_", "-", "@" or ":" (got ${JSON.stringify(tokenName)})`);
  }
}

const NAME = /^[A-Za-z0-9._@:-]{1,100}$/;

/** Creates a token for `name` with `role`; returns the token itself, which is never stored. */
export async function createApiToken(prisma: PrismaClient, actor: Principal, name: string, role: ApiRole): Promise<{ token: string; info: TokenInfo }> {
  if (!NAME.test(name)) throw new InvalidTokenNameError(name);
  const token = newToken();
  try {
    const info = await prisma.$transaction(async (tx) => {
      const row = await tx.apiToken.create({ data: { name, role, tokenHash: hashToken(token) }, select: tokenSelect });
      await recordAudit(tx, actor, { action: 'TOKEN_CREATE', entityType: 'ApiToken', entityKey: name, before: null, after: auditView(row) });
      return row;
    });
    return { token, info };
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new TokenNameTakenError(name);
    throw err;
  }
}

/** Revokes the active token named `name`; its name stays taken, so the audit trail stays unambiguous. */
export async function revokeApiToken(prisma: PrismaClient, actor: Principal, name: string): Promise<TokenInfo> {
  return prisma.$transaction(async (tx) => {
    const [locked] = await tx.$queryRaw<{ id: number }[]>`SELECT id FROM api_token WHERE name = ${name} AND revoked_at IS NULL FOR UPDATE`;
    if (!locked) throw new TokenNotFoundError(name);
    const before = await tx.apiToken.findUniqueOrThrow({ where: { id: locked.id }, select: tokenSelect });
    const row = await tx.apiToken.update({ where: { id: locked.id }, data: { revokedAt: new Date() }, select: tokenSelect });
    await recordAudit(tx, actor, { action: 'TOKEN_REVOKE', entityType: 'ApiToken', entityKey: name, before: auditView(before), after: auditView(row) });
    return row;
  });
}

export function listApiTokens(prisma: PrismaClient): Promise<TokenInfo[]> {
  return prisma.apiToken.findMany({ select: tokenSelect, orderBy: { id: 'asc' } });
}

/** Whether any token can still authenticate. */
export async function hasActiveTokens(prisma: PrismaClient): Promise<boolean> {
  return (await prisma.apiToken.count({ where: { revokedAt: null } })) > 0;
}

const tokenSelect = { id: true, name: true, role: true, createdAt: true, revokedAt: true } satisfies Prisma.ApiTokenSelect;

function auditView(t: TokenInfo): Prisma.InputJsonObject {
  return { name: t.name, role: t.role, createdAt: t.createdAt.toISOString(), revokedAt: t.revokedAt?.toISOString() ?? null };
}
