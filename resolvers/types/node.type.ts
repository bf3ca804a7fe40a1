import { Field, ID, InterfaceType } from 'type-graphql';

@InterfaceType('Node', {
  description: 'An object with a global id, fetchable with `node(id:)`.',
  resolveType: (value: { total?: unknown }) => ('total' in value ? 'Batch' : 'Job'),
})
export abstract class Node {
  @Field((_type) => ID)
  id!: string;
}
