import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  getVariableValues,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../ports/page.js';

/**
 * Bounds of lists that are not pages, where the schema promises one. Any other list counts
 * as `MAX_PAGE_SIZE` items: it only matters when a page request sits below it.
 */
const LIST_BOUNDS: Record<string, number> = { 'BatchProgressEvent.changedJobs': 500 };

/**
 * Fields that are not pages but whose every call is work of its own, in page requests per
 * call: `Batch.export` reads every child of the batch and writes a file (when the batch
 * changed since the last one), so asking for it under a page of 100 batches is 100 exports;
 * `Batch.summary` aggregates over every scored child (best, mean, counts).
 */
export const FIELD_WEIGHTS: Readonly<Record<string, number>> = { 'Batch.export': 10, 'Batch.summary': 10 };

/** A page request (or a weighted field) in an operation and how often it runs. */
export interface CostedField {
  /** Response path to it, aliases as written, e.g. `["batches","edges","node","jobs"]`. */
  path: string[];
  /** Schema coordinate, e.g. `Batch.jobs`. */
  coordinate: string;
  /** Times it runs: the product of the page sizes above it. */
  calls: number;
  /** Requests it counts for: `calls` × its weight (1 for a page request, else `FIELD_WEIGHTS`). */
  requests: number;
  /** Items each call asks for; null for a weighted field, which is not a page. */
  pageSize: number | null;
}

export interface QueryCost {
  /** Page requests the operation implies, every page assumed full. */
  requests: number;
  /** What it costs: requests ÷ 100, rounded up, at least 1. */
  points: number;
  /** The page requests, costliest first. */
  fields: CostedField[];
}

/**
 * An operation's cost, GitHub's way, before it runs. A *page request* is a field with a page
 * size: a connection (`first`/`last`, 20 when neither is given) or a list with `n`
 * (`BatchSummary.top`). Each costs one request per parent that asks for it, so page sizes of
 * nested pages multiply: `batches(first: 100) { nodes { jobs(first: 50) { … } } }` is 1 + 100
 * requests. Lists that are not pages multiply by their bound (`LIST_BOUNDS`, else 100). A
 * field with a weight (`FIELD_WEIGHTS`) counts its weight in requests per call, multiplied
 * the same way. Points are requests ÷ 100 rounded up, at least 1 for any operation. `@skip`/`@include` are
 * not evaluated (worst case), and a size that cannot be read (a bad variable, which execution
 * then refuses) counts as 100.
 */
export function operationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  rawVariables: Record<string, unknown> | undefined,
): QueryCost {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  // Variables execution will refuse: a size read from one counts as the most it could be.
  const variables = coerced.coerced ?? null;
  const root = schema.getRootType(operation.operation);
  const fields: CostedField[] = [];
  const visiting = new Set<string>();

  const walk = (type: GraphQLNamedType, set: SelectionSetNode, multiplier: number, path: string[], page: number | null) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        if (on) walk(on, selection.selectionSet, multiplier, path, page);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments[selection.name.value];
        const on = fragment && schema.getType(fragment.typeCondition.name.value);
        // Validation refuses fragment cycles; this guard keeps an unvalidated document finite.
        if (!fragment || !on || visiting.has(fragment.name.value)) continue;
        visiting.add(fragment.name.value);
        walk(on, fragment.selectionSet, multiplier, path, page);
        visiting.delete(fragment.name.value);
        continue;
      }
      const name = selection.name.value;
      const field = fieldOf(type, name);
      if (!field) continue; // __typename and introspection: free
      const responsePath = [...path, selection.alias?.value ?? name];
      const isList = isListType(getNullableType(field.type));
      const coordinate = `${type.name}.${name}`;
      const size = pageSizeOf(field, selection, variables);
      const weight = FIELD_WEIGHTS[coordinate];
      let childMultiplier = multiplier;
      let childPage: number | null = null;
      if (weight !== undefined)
        fields.push({ path: responsePath, coordinate, calls: multiplier, requests: multiplier * weight, pageSize: null });
      if (size !== null) {
        fields.push({ path: responsePath, coordinate, calls: multiplier, requests: multiplier, pageSize: size });
        if (isList) childMultiplier = multiplier * size;
        else childPage = size; // a connection: its edges and nodes lists hold the page
      } else if (isList) {
        childMultiplier = multiplier * (page ?? LIST_BOUNDS[coordinate] ?? MAX_PAGE_SIZE);
      }
      if (selection.selectionSet)
        walk(getNamedType(field.type), selection.selectionSet, childMultiplier, responsePath, childPage);
    }
  };
  if (root) walk(root, operation.selectionSet, 1, [], null);

  return costOf(fields);
}

/**
 * What one event of a subscription costs: graphql-ws runs the operation's whole selection
 * again for every event, so each pays for everything below the root field (whose `subscribe`
 * runs once). The same rule as `operationCost`, without the root's own fields.
 */
export function eventCost(cost: QueryCost): QueryCost {
  return costOf(cost.fields.filter((f) => f.path.length > 1));
}

/** The costliest fields, one `{ path, message }` each, as `extensions.invalid` lists them. */
export function costlyFields(cost: QueryCost, limit = 20): { path: string[]; message: string }[] {
  return cost.fields.slice(0, limit).map((f) => {
    const what =
      f.pageSize === null
        ? `${f.calls} call${f.calls === 1 ? '' : 's'} of ${f.requests / f.calls} requests each`
        : `${f.requests} request${f.requests === 1 ? '' : 's'} of up to ${f.pageSize} items`;
    const share = cost.requests === 0 ? 0 : (f.requests / cost.requests) * cost.points;
    return { path: f.path, message: `${f.coordinate}: ${what} (${share.toFixed(1)} of the points)` };
  });
}

function costOf(fields: CostedField[]): QueryCost {
  const requests = fields.reduce((sum, f) => sum + f.requests, 0);
  const sorted = [...fields].sort((a, b) => b.requests - a.requests);
  return { requests, points: Math.max(1, Math.ceil(requests / 100)), fields: sorted };
}

/** The fragments of a document by name. */
export function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const byName: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) byName[d.name.value] = d;
  return byName;
}

function fieldOf(type: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (isObjectType(type) || isInterfaceType(type)) return type.getFields()[name];
  return undefined;
}

/** The items a page request asks for; null when the field is not one. */
function pageSizeOf(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown> | null,
): number | null {
  const names = new Set(field.args.map((a) => a.name));
  const paged = names.has('first') || names.has('last');
  if (!paged && !names.has('n')) return null;
  if (variables === null && node.arguments?.some((a) => a.value.kind === Kind.VARIABLE)) return MAX_PAGE_SIZE;
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(field, node, variables ?? {});
  } catch {
    return MAX_PAGE_SIZE;
  }
  const given = paged ? (args.first ?? args.last) : args.n;
  if (typeof given !== 'number') return paged ? DEFAULT_PAGE_SIZE : MAX_PAGE_SIZE;
  // Sizes outside 0…100 are refused when the field runs; count them as the most it could be.
  return Math.min(Math.max(given, 0), MAX_PAGE_SIZE);
}
