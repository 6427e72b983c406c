// Compiled execution of repeated queries with graphql-jit: a query document compiles once into a
// function that resolves its fields without graphql-js's per-field interpretation (the planning
// pages resolve 1,000 to 7,000 fields each; bench/README.md, issue 17). Which executions compile:
// - queries only; mutations keep the standard executor (few, rarely repeated);
// - from a document's second execution on: a one-off document (GraphiQL, a script's ad-hoc query)
//   does not pay for a compilation it never reuses;
// - with variables graphql-js accepts: invalid variables get the standard executor's errors
//   (400, with locations), never graphql-jit's differently worded ones;
// - a document graphql-jit cannot compile runs on the standard executor.
// Fields @pothos/plugin-prisma wraps need stable response paths under graphql-jit: see
// ./stable-paths.ts.
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/** `repeated`: from a document's second execution; `always`: from its first; `off`: never. */
export type CompiledExecution = 'repeated' | 'always' | 'off';

type Compiled = CompiledQuery | 'not compilable';

// The contexts of the executions running compiled (./stable-paths.ts interns paths for those only).
const compiledContexts = new WeakSet<object>();

/** Whether the execution with this context runs compiled by graphql-jit. */
export function isCompiledExecution(context: object): boolean {
  return compiledContexts.has(context);
}

/** The fields of the operation at a response path (aliases, fragments and inline fragments followed). */
function fieldNodesAt(document: DocumentNode, operation: OperationDefinitionNode, path: readonly (string | number)[]): FieldNode[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let sets: SelectionSetNode[] = [operation.selectionSet];
  let nodes: FieldNode[] = [];
  for (const key of path) {
    if (typeof key === 'number') continue;
    nodes = [];
    const visit = (set: SelectionSetNode): void => {
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          if ((s.alias ?? s.name).value === key) nodes.push(s);
        } else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet);
        else {
          const fragment = fragments.get(s.name.value);
          if (fragment) visit(fragment.selectionSet);
        }
      }
    };
    sets.forEach(visit);
    sets = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
  }
  return nodes;
}

/**
 * An error of a compiled execution as graphql-js's executor would have reported it (locatedError):
 * a GraphQLError that already has its path as thrown, anything else wrapped with the fields at its
 * path (so it has their locations) and what was thrown as its originalError.
 */
function asStandardError(error: GraphQLError, document: DocumentNode, operation: OperationDefinitionNode): GraphQLError {
  // graphql-jit's own error class wraps what a resolver threw; a GraphQLError of graphql-js's passes as thrown.
  const thrown: Error | undefined = error.constructor === GraphQLError ? error : (error.originalError ?? undefined);
  if (thrown?.constructor === GraphQLError && (thrown as GraphQLError).path) return thrown as GraphQLError;
  const path = error.path ?? [];
  return new GraphQLError(thrown?.message ?? error.message, {
    nodes: path.length ? fieldNodesAt(document, operation, path) : undefined,
    path: path.length ? path : undefined,
    originalError: thrown,
  });
}

export function compiledExecutionPlugin(when: Exclude<CompiledExecution, 'off'>): Plugin {
  const fromExecution = when === 'always' ? 1 : 2;
  const executions = new WeakMap<DocumentNode, number>();
  // Per document, per operation name ('' for none).
  const compiled = new WeakMap<DocumentNode, Map<string, Compiled>>();

  const compiledFor = (schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): Compiled => {
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map()));
    let entry = byName.get(operationName ?? '');
    if (!entry) {
      const result = compileQuery(schema, document, operationName);
      entry = isCompiledQuery(result) ? result : 'not compilable';
      byName.set(operationName ?? '', entry);
    }
    return entry;
  };

  return {
    onExecute({ args, setExecuteFn }) {
      const { schema, document } = args;
      const operationName = args.operationName ?? undefined;
      const operation = getOperationAST(document, operationName);
      if (operation?.operation !== 'query') return;
      const seen = (executions.get(document) ?? 0) + 1;
      executions.set(document, seen);
      if (seen < fromExecution) return;
      const variables = args.variableValues ?? {};
      if (operation.variableDefinitions?.length && getVariableValues(schema, operation.variableDefinitions, variables).errors) return;
      const query = compiledFor(schema, document, operationName);
      if (query === 'not compilable') return;
      const standardErrors = (result: ExecutionResult): ExecutionResult =>
        result.errors?.length ? { ...result, errors: result.errors.map((e) => asStandardError(e, document, operation)) } : result;
      setExecuteFn((a) => {
        if (typeof a.contextValue === 'object' && a.contextValue !== null) compiledContexts.add(a.contextValue);
        const result = query.query(a.rootValue, a.contextValue, a.variableValues) as ExecutionResult | Promise<ExecutionResult>;
        return result instanceof Promise ? result.then(standardErrors) : standardErrors(result);
      });
    },
  };
}
