// What a query selects below a field, for resolvers that plan their work from it (the count started
// beside its page, the TD columns of the hosts page's statement).
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Every field selected in `sets`, through inline fragments and fragment spreads. With `skipDirected`,
 * a selection with a directive (@include, @skip, @defer) is left out, as one that may not run.
 */
export function selectedFields(
  sets: readonly (SelectionSetNode | undefined)[],
  info: GraphQLResolveInfo,
  { skipDirected = false }: { skipDirected?: boolean } = {},
): FieldNode[] {
  const out: FieldNode[] = [];
  const walk = (set: SelectionSetNode | undefined): void => {
    for (const s of set?.selections ?? []) {
      if (skipDirected && s.directives?.length) continue;
      if (s.kind === Kind.FIELD) out.push(s);
      else walk(s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : info.fragments[s.name.value]?.selectionSet);
    }
  };
  sets.forEach(walk);
  return out;
}

/** The fields selected below the fields called `name` among `fields`. */
export function fieldsUnder(fields: readonly FieldNode[], name: string, info: GraphQLResolveInfo): FieldNode[] {
  return selectedFields(
    fields.filter((f) => f.name.value === name).map((f) => f.selectionSet),
    info,
  );
}

/** The fields selected directly on the field `info` resolves. */
export function fieldsOf(info: GraphQLResolveInfo, options?: { skipDirected?: boolean }): FieldNode[] {
  return selectedFields(
    info.fieldNodes.map((f) => f.selectionSet),
    info,
    options,
  );
}
