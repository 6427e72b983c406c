// Compiled execution (graphql-jit, src/graphql/compiled-execution.ts) builds a new response-path
// object for every resolver call, links above included; graphql-js shares the links above a field
// between its rows. @pothos/plugin-prisma keys what each relation loaded by the identity of those
// links (a relation's row mappings, found again by the fields beneath it), so under graphql-jit
// the fields with a `select` beneath a relation no longer find their data and load it again (one
// more statement per such field). This plugin hands the fields that plugin wraps one interned
// path object per response position, so identity holds however the executor builds its paths.
import SchemaBuilder, { BasePlugin, createContextCache, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import { isCompiledExecution } from './compiled-execution.js';

type Path = GraphQLResolveInfo['path'];

interface PathTable {
  roots: Map<string | number, Path>;
  /** Below each interned path object, its children by key. A Map, not a WeakMap: the table goes with the request. */
  children: Map<Path, Map<string | number, Path>>;
}

const tables = createContextCache((): PathTable => ({ roots: new Map(), children: new Map() }));

/**
 * The one path object of this request for `path`'s response position: the first one seen there.
 * Under graphql-js that is the executor's own object (its links above are shared, so nothing new
 * is built); under graphql-jit a position's later objects map to its first. No WeakMap of the
 * executor's objects: under graphql-jit each would be an entry per resolver call for the garbage
 * collector to trace (measured on a version that wrapped every field: 22 to 26 CPU ms per hosts
 * page with such a WeakMap, 12.4 to 12.9 without).
 */
export function internedPath(table: PathTable, path: Path): Path {
  const prev = path.prev ? internedPath(table, path.prev) : undefined;
  let siblings = prev ? table.children.get(prev) : table.roots;
  if (!siblings) {
    siblings = new Map();
    table.children.set(prev!, siblings);
  }
  let interned = siblings.get(path.key);
  if (!interned) {
    interned = prev === path.prev ? path : { prev, key: path.key, typename: path.typename };
    siblings.set(path.key, interned);
  }
  return interned;
}

const pluginName = 'stablePaths';

export class StablePathsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: GraphQLFieldResolver<unknown, Types['Context'], object>, fieldConfig: PothosOutputFieldConfig<Types>) {
    // The fields whose resolvers @pothos/plugin-prisma wraps (relations, related connections,
    // fields with a select), and the root query fields, whose plans record the first mappings
    // (mutations never run compiled).
    // (The same test as the prisma plugin's: exposed columns have `pothosPrismaSelect: false` and
    // keep graphql's default resolver.)
    const prismaWrapped = fieldConfig.kind === 'PrismaObject' && !!fieldConfig.extensions?.pothosPrismaSelect;
    const root = fieldConfig.kind === 'Query';
    if (!prismaWrapped && !root) return resolver;
    return (parent: unknown, args: object, context: Types['Context'], info: GraphQLResolveInfo) => {
      // graphql-js shares the links above a field: only a compiled execution needs them interned.
      if (!isCompiledExecution(context as object)) return resolver(parent, args, context, info);
      const path = internedPath(tables(context as object), info.path);
      return resolver(parent, args, context, path === info.path ? info : { ...info, path });
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, StablePathsPlugin);

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Pothos' plugin registry is a global namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      stablePaths: StablePathsPlugin<Types>;
    }
  }
}

export default pluginName;
