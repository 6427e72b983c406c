import { encodeGlobalID } from '@pothos/plugin-relay';
import type { EntityKind } from '../../errors.js';
import { builder } from '../builder.js';

export interface Deleted {
  deletedId: string;
}

export const DeletedRef = builder.objectRef<Deleted>('Deleted').implement({
  description: 'What a delete removed.',
  fields: (t) => ({ deletedId: t.exposeID('deletedId', { description: 'Global ID of the deleted entity.' }) }),
});

export function deleted(entity: EntityKind, id: number): Deleted {
  return { deletedId: encodeGlobalID(entity, id) };
}

/**
 * An update input without the fields the client left out. GraphQL gives null for an explicit
 * null; for non-nullable columns null means "keep", so it is dropped too.
 */
export function withoutNulls<T extends Record<string, unknown>>(input: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], null>;
  };
}
