// API tokens: who may read, plan, or change the fleet. A token is 256 random bits shown once;
// only its SHA-256 is stored, so a leaked database does not leak usable tokens. A slow password
// hash would buy nothing for random secrets and would cost every request.
import { createHash, randomBytes } from 'node:crypto';
import type { Prisma, PrismaClient } from '../db/client.js';
import type { ApiRole, Principal } from './principal.js';

export type { ApiRole, Principal };

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

/** Whether `token` could be one of ours at all (others are refused without a lookup). */
export function isTokenShaped(token: string): boolean {
  return token.startsWith(TOKEN_PREFIX);
}

/** The principal of a looked-up token row; null when there is none or it is revoked. */
export function principalOfRow(row: { name: string; role: ApiRole; revokedAt: Date | null } | null): Principal | null {
  return row && !row.revokedAt ? { name: row.name, role: row.role } : null;
}

/** The principal a token stands for; null when unknown or revoked. */
export async function authenticate(prisma: PrismaClient, token: string): Promise<Principal | null> {
  if (!isTokenShaped(token)) return null;
  const row = await prisma.apiToken.findUnique({ where: { tokenHash: hashToken(token) }, select: { name: true, role: true, revokedAt: true } });
  return principalOfRow(row);
}

export interface TokenInfo {
  id: number;
  name: string;
  role: ApiRole;
  createdAt: Date;
  revokedAt: Date | null;
}

export function listApiTokens(prisma: PrismaClient): Promise<TokenInfo[]> {
  return prisma.apiToken.findMany({ select: tokenSelect, orderBy: { id: 'asc' } });
}

/** Whether any token can still authenticate. */
export async function hasActiveTokens(prisma: PrismaClient): Promise<boolean> {
  return (await prisma.apiToken.count({ where: { revokedAt: null } })) > 0;
}

export const tokenSelect = { id: true, name: true, role: true, createdAt: true, revokedAt: true } satisfies Prisma.ApiTokenSelect;

export function tokenAuditView(t: TokenInfo): Prisma.InputJsonObject {
  return { name: t.name, role: t.role, createdAt: t.createdAt.toISOString(), revokedAt: t.revokedAt?.toISOString() ?? null };
}
