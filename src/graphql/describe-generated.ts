// Descriptions for the types the plugins generate (connections, edges, page info, mutation result
// unions and success types, global IDs), so GraphiQL's docs explain every type and field. Only
// missing descriptions are filled; domain types and fields carry their own.
import { isInputObjectType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';

const FIELD_DEFAULTS: Record<string, string> = {
  edges: 'The items of this page, each with its cursor.',
  pageInfo: 'Where this page sits: cursors of its first and last items, and whether more pages follow.',
  totalCount: 'How many items match, across all pages.',
  cursor: 'Opaque position of this item: pass it as `after` to get the items that follow.',
  node: 'The item.',
  data: 'What the mutation wrote.',
  message: 'What went wrong, in words, with the numbers.',
};

const PAGE_INFO_FIELDS: Record<string, string> = {
  hasNextPage: 'More items follow this page.',
  hasPreviousPage: 'Items come before this page.',
  startCursor: 'Cursor of the first item.',
  endCursor: 'Cursor of the last item: pass it as `after` for the next page.',
};

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

// Input types describe the entity they write or name: CreateHostInput, UpdateHostInput, HostRef,
// HostFilter all take their field descriptions from Host.
const INPUT_ENTITY: [RegExp, string][] = [
  [/^(Create|Update)(\w+)Input$/, '$2'],
  [/^(\w+)Ref$/, '$1'],
  [/^(\w+)Filter$/, '$1'],
  [/^MigrationVersionsInput$/, 'MigrationVersions'],
];

function entityOf(inputName: string): string | undefined {
  for (const [pattern, replacement] of INPUT_ENTITY) {
    if (pattern.test(inputName)) {
      const entity = inputName.replace(pattern, replacement);
      return entity === 'Module' ? 'TdxModule' : entity;
    }
  }
  return undefined;
}

export function describeGeneratedTypes(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const name = type.name;
    if (!type.description) {
      let description: string | undefined;
      if (name.endsWith('ConnectionEdge') || name.endsWith('Edge')) description = 'One item of a page, with its cursor.';
      else if (name.endsWith('Connection')) description = 'A page of items, with cursors to move on and the total count.';
      else if (name === 'PageInfo') description = 'Relay page information.';
      else if (name === 'Node') description = 'Anything with a global ID: fetch it again with `node(id:)`.';
      else if (/^Mutation.+Result$/.test(name) || name.endsWith('Result'))
        description = `The outcome of ${lowerFirst(name.replace(/^Mutation/, '').replace(/Result$/, ''))}: its success type, or a typed error (nothing was changed then).`;
      else if (/^Mutation.+Success$/.test(name) || name.endsWith('Success'))
        description = `${name.replace(/^Mutation/, '').replace(/Success$/, '')} succeeded.`;
      else if (name.endsWith('Ref') && isInputObjectType(type)) description = 'Exactly one of the natural key and the global ID.';
      else if (/^Create\w+Input$/.test(name)) description = `A new ${name.replace(/^Create|Input$/g, '')}.`;
      if (description) type.description = description;
    }
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (field.description) continue;
        if (field.name === 'id')
          field.description = isInputObjectType(type)
            ? 'The global ID.'
            : 'Global ID (Relay): stable, opaque, accepted by `node(id:)` and by every input reference.';
        else if (name === 'PageInfo') field.description = PAGE_INFO_FIELDS[field.name];
        else if (FIELD_DEFAULTS[field.name]) field.description = FIELD_DEFAULTS[field.name];
        else if (isInputObjectType(type)) {
          const entity = schema.getType(entityOf(name) ?? '');
          const same = entity && (isObjectType(entity) || isInterfaceType(entity)) ? entity.getFields()[field.name] : undefined;
          if (same?.description) field.description = same.description;
        }
      }
    }
  }
  return schema;
}
