// Who is asking (`me`), and API tokens managed over GraphQL (admins only), the same operations as
// `tdplan token create|revoke|list`.
import type { Principal } from '../../auth/principal.js';
import { listApiTokens, type TokenInfo } from '../../auth/tokens.js';
import { createApiToken, revokeApiToken } from '../../commands/tokens.js';
import { InvalidTokenNameError, NotFoundError, TokenNameTakenError, TokenNotFoundError, ValidationError } from '../../errors.js';
import { builder } from '../builder.js';

export const ApiRoleEnum = builder.enumType('ApiRole', {
  description: 'What an API token may do. Each role includes the ones before it.',
  values: {
    VIEWER: { description: 'Read the inventory and every capacity answer.' },
    PLANNER: { description: 'Also place and migrate TDs (placeTd, migrateTd) and ask what-if questions.' },
    ADMIN: { description: 'Also change the inventory (create/update/delete, importInventory), read the audit trail and manage API tokens.' },
  } as const,
});

const PrincipalRef = builder.objectRef<Principal>('Principal').implement({
  description: 'Who a request is authenticated as.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The API token name.' }),
    role: t.field({ type: ApiRoleEnum, description: 'Its role.', resolve: (p) => p.role }),
  }),
});

const ApiTokenRef = builder.objectRef<TokenInfo>('ApiToken').implement({
  description: 'An API token. The token itself is shown only once, by createApiToken.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Who or what holds it.' }),
    role: t.field({ type: ApiRoleEnum, description: 'What it may do.', resolve: (k) => k.role }),
    createdAt: t.string({ description: 'When it was created (ISO 8601).', resolve: (k) => k.createdAt.toISOString() }),
    revokedAt: t.string({
      nullable: true,
      description: 'When it was revoked (ISO 8601); null while active.',
      resolve: (k) => k.revokedAt?.toISOString() ?? null,
    }),
  }),
});

const CreatedApiTokenRef = builder.objectRef<{ token: string; info: TokenInfo }>('CreatedApiToken').implement({
  description: 'A new API token. Keep `token`: only its hash is stored, it cannot be shown again.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The secret to send as `Authorization: Bearer <token>`.' }),
    apiToken: t.field({ type: ApiTokenRef, description: 'The token record.', resolve: (c) => c.info }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({ type: PrincipalRef, description: 'Who this request is authenticated as.', resolve: (_root, _args, ctx) => ctx.principal }),
  apiTokens: t.field({
    type: [ApiTokenRef],
    description: 'Every API token, revoked ones included. ADMIN only.',
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => listApiTokens(ctx.prisma),
  }),
}));

// Token errors in the shared typed errors: a bad or taken name is a validation problem, an unknown one not found.
async function asTypedErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof InvalidTokenNameError || err instanceof TokenNameTakenError) throw new ValidationError([{ field: 'name', message: err.message }]);
    if (err instanceof TokenNotFoundError) throw new NotFoundError('ApiToken', err.tokenName);
    throw err;
  }
}

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreatedApiTokenRef,
    description: 'Creates an API token with a role. ADMIN only. The token is in the result once, never again.',
    errors: { types: [ValidationError] },
    args: {
      name: t.arg.string({ required: true, description: 'Who or what will hold it, e.g. `planning-ui`.' }),
      role: t.arg({ type: ApiRoleEnum, required: true }),
    },
    resolve: (_root, args, ctx) => asTypedErrors(() => createApiToken(ctx.prisma, ctx.principal, args.name, args.role)),
  }),
  revokeApiToken: t.field({
    type: ApiTokenRef,
    description: 'Revokes the active token with this name: it authenticates nothing from now on. ADMIN only.',
    errors: { types: [NotFoundError] },
    args: { name: t.arg.string({ required: true, description: 'The token name.' }) },
    resolve: (_root, args, ctx) => asTypedErrors(() => revokeApiToken(ctx.prisma, ctx.principal, args.name)),
  }),
}));
