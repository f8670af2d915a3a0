import { CfnMapping, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * The built-in XGBoost algorithm's image, pinned to one version (never `latest`, so a retrain cannot silently change
 * the algorithm). SageMaker publishes it from a different AWS account in each region; the template carries that
 * region → account map and picks the entry with `Fn::FindInMap` at deploy time, so synth needs no lookup.
 */
export const XGBOOST_VERSION = '1.7-1';

/** Registry accounts of the `sagemaker-xgboost` repository in the commercial partition, per region. */
export const XGBOOST_REGISTRY_ACCOUNTS: { readonly [region: string]: string } = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'ca-west-1': '190319476487',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'il-central-1': '898809789911',
  'me-central-1': '272398656194',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

/** The XGBoost image URI and its registry account for the stack's region, resolved through a template mapping. */
export class XgboostImage extends Construct {
  /** `<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:<version>` */
  readonly imageUri: string;
  /** ARN of the ECR repository the image lives in, for a scoped pull permission. */
  readonly repositoryArn: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    if (!Token.isUnresolved(stack.region) && XGBOOST_REGISTRY_ACCOUNTS[stack.region] === undefined) {
      throw new Error(
        `XgboostImage: SageMaker publishes no built-in XGBoost image in region '${stack.region}'; ` +
          `deploy to one of ${Object.keys(XGBOOST_REGISTRY_ACCOUNTS).join(', ')} (the region of the stack it is in)`,
      );
    }
    // Lazy: with a region known at synth the account is inlined; otherwise the template carries the map.
    const registry = new CfnMapping(this, 'Registry', {
      lazy: true,
      mapping: Object.fromEntries(
        Object.entries(XGBOOST_REGISTRY_ACCOUNTS).map(([region, account]) => [region, { account }]),
      ),
    });
    const account = registry.findInMap(stack.region, 'account');
    this.imageUri = `${account}.dkr.ecr.${stack.region}.${stack.urlSuffix}/sagemaker-xgboost:${XGBOOST_VERSION}`;
    this.repositoryArn = `arn:${stack.partition}:ecr:${stack.region}:${account}:repository/sagemaker-xgboost`;
  }
}
