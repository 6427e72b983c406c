// Every cursor argument of an operation (`after`, `before`, from literals or variables, in
// fragments too) is checked before execution against the one rule in src/cursors.ts, so a
// malformed cursor gets the same ValidationError whichever list it was given to.
import { Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { CURSOR_ARGUMENTS, isWellFormedCursor, NOT_A_CURSOR, type CursorArgument } from '../cursors.js';
import { ValidationError } from '../errors.js';

/** Where a cursor argument's value comes from: a variable, or the literal written in the document. */
type CursorSource = { field: CursorArgument; variable: string } | { field: CursorArgument; literal: unknown };

/** The cursor arguments of an operation, as written in the document (values not yet looked up). */
function cursorSources(document: DocumentNode, operationName: string | null | undefined): CursorSource[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations = [];
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    else if (d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName)) operations.push(d);
  }
  const found: CursorSource[] = [];
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): void => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        for (const arg of selection.arguments ?? []) {
          const name = arg.name.value as CursorArgument;
          if (!CURSOR_ARGUMENTS.includes(name)) continue;
          if (arg.value.kind === Kind.VARIABLE) found.push({ field: name, variable: arg.value.name.value });
          else found.push({ field: name, literal: arg.value.kind === Kind.STRING ? arg.value.value : undefined });
        }
        walk(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        walk(fragments.get(selection.name.value)?.selectionSet);
      }
    }
  };
  for (const operation of operations) walk(operation.selectionSet);
  return found;
}

// yoga's parser cache hands the same DocumentNode to every request with the same query text, so
// the walk above runs once per document and operation; each request only looks its variables up.
const sourcesByDocument = new WeakMap<DocumentNode, Map<string, CursorSource[]>>();

/** The cursor arguments of an operation, with their values (from variables where they are variables). */
function cursorArguments(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): { field: CursorArgument; value: unknown }[] {
  let byOperation = sourcesByDocument.get(document);
  if (!byOperation) sourcesByDocument.set(document, (byOperation = new Map()));
  const key = operationName ?? '';
  let sources = byOperation.get(key);
  if (!sources) byOperation.set(key, (sources = cursorSources(document, operationName)));
  const found: { field: CursorArgument; value: unknown }[] = [];
  for (const source of sources) {
    const value = 'variable' in source ? variables[source.variable] : source.literal;
    if (value !== undefined && value !== null) found.push({ field: source.field, value });
  }
  return found;
}

/** Refuses an operation with a malformed cursor before anything runs. */
export function cursorCheckPlugin(refusal: (error: ValidationError) => Error): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      const bad = cursorArguments(args.document, args.operationName, variables).filter((c) => !isWellFormedCursor(c.value));
      if (bad.length === 0) return;
      const fields = [...new Set(bad.map((c) => c.field))];
      setResultAndStopExecution({ errors: [refusal(new ValidationError(fields.map((field) => ({ field, message: NOT_A_CURSOR }))))] as never });
    },
  };
}
