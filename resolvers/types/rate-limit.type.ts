import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('RateLimit', {
  simpleResolvers: true,
  description:
    "The viewer's query-cost budget (GitHub's rateLimit): points per window, spent by each operation's cost. " +
    'Every response also reports it in extensions.cost.',
})
export class RateLimitType {
  @Field((_type) => Int, { description: 'Points per window.' }) limit!: number;
  @Field((_type) => Int, {
    description: 'Points this operation costs: page requests ÷ 100, rounded up, at least 1 (see the README).',
  })
  cost!: number;
  @Field((_type) => Int, { description: 'Points used in the window, this operation included.' }) used!: number;
  @Field((_type) => Int, { description: 'Points left in the window.' }) remaining!: number;
  @Field((_type) => Date, { description: 'When the window ends and the budget is full again.' }) resetAt!: Date;
}
