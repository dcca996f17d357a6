import { type CfnResource, Stack, Token } from 'aws-cdk-lib';

/**
 * Regions whose CloudFormation resource schema for AWS::CloudWatch::Dashboard has no `Tags`: a
 * template that tags a dashboard there fails to deploy (cfn-lint E3002 with AWS's published
 * schemas, December 2026). Everywhere else the dashboard is tagged like every other resource.
 */
export const DASHBOARD_UNTAGGED_REGIONS = ['me-central-1', 'me-south-1'] as const;

/**
 * Leaves out `resource`'s tags in `regions`, and keeps them everywhere else. A region-agnostic
 * stack cannot know where it will be deployed, so it leaves them out everywhere: a condition on
 * `AWS::Region` (Fn::If with AWS::NoValue) would do for CloudFormation, but cfn-lint still reads
 * the property as present in every region and refuses the template.
 */
export function untaggedIn(resource: CfnResource, regions: readonly string[]): void {
  const { region } = Stack.of(resource);
  if (Token.isUnresolved(region) || regions.includes(region)) resource.addPropertyDeletionOverride('Tags');
}
