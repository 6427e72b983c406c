// Token commands: creating and revoking API tokens, each in one transaction with its audit record.
import { recordAudit } from '../audit/record.js';
import { hashToken, newToken, tokenAuditView, tokenSelect, type TokenInfo } from '../auth/tokens.js';
import type { ApiRole, Principal } from '../auth/principal.js';
import type { PrismaClient } from '../db/client.js';
import { InvalidTokenNameError, TokenNameTakenError, TokenNotFoundError } from '../errors.js';

const NAME = /^[A-Za-z0-9._@:-]{1,100}$/;

/** Creates a token for `name` with `role`; returns the token itself, which is never stored. */
export async function createApiToken(prisma: PrismaClient, actor: Principal, name: string, role: ApiRole): Promise<{ token: string; info: TokenInfo }> {
  if (!NAME.test(name)) throw new InvalidTokenNameError(name);
  const token = newToken();
  try {
    const info = await prisma.$transaction(async (tx) => {
      const row = await tx.apiToken.create({ data: { name, role, tokenHash: hashToken(token) }, select: tokenSelect });
      await recordAudit(tx, actor, { action: 'TOKEN_CREATE', entityType: 'ApiToken', entityKey: name, before: null, after: tokenAuditView(row) });
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
    await recordAudit(tx, actor, {
      action: 'TOKEN_REVOKE',
      entityType: 'ApiToken',
      entityKey: name,
      before: tokenAuditView(before),
      after: tokenAuditView(row),
    });
    return row;
  });
}
