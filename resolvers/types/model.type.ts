import { Field, ID, ObjectType } from 'type-graphql';
import { ModelName } from './enums.js';

@ObjectType('Model', { simpleResolvers: true })
export class ModelType {
  @Field((_type) => ModelName) name!: ModelName;
  @Field((_type) => String) description!: string;
  @Field((_type) => String, { description: 'GPU or CPU.' }) accelerator!: string;
  @Field((_type) => [String], { description: 'Inputs it needs, as ProteinInput/LigandInput fields.' }) needs!: string[];
  @Field((_type) => Boolean, { description: 'Whether this deployment can run it now.' }) available!: boolean;
  @Field((_type) => String, { nullable: true, description: 'Why not, when it cannot.' }) unavailableReason!: string | null;
}

@ObjectType('Viewer', { simpleResolvers: true })
export class ViewerType {
  @Field((_type) => ID) id!: string;
}
