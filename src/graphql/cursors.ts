// Every cursor argument of an operation (`after`, `before`, from literals or variables, in
// fragments too) is checked before execution against the one rule in src/cursors.ts, so a
// malformed cursor gets the same ValidationError whichever list it was given to.
import { Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { CURSOR_ARGUMENTS, isWellFormedCursor, NOT_A_CURSOR, type CursorArgument } from '../cursors.js';
import { ValidationError } from '../errors.js';

/** The cursor arguments of an operation, with their values (from variables where they are variables). */
function cursorArguments(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): { field: CursorArgument; value: unknown }[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations = [];
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    else if (d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName)) operations.push(d);
  }
  const found: { field: CursorArgument; value: unknown }[] = [];
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): void => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        for (const arg of selection.arguments ?? []) {
          const name = arg.name.value as CursorArgument;
          if (!CURSOR_ARGUMENTS.includes(name)) continue;
          const value = arg.value.kind === Kind.VARIABLE ? variables[arg.value.name.value] : arg.value.kind === Kind.STRING ? arg.value.value : undefined;
          if (value !== undefined && value !== null) found.push({ field: name, value });
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
