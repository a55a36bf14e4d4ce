import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { parse } from 'yaml';

export interface RunbooksProps {
  /** Directory holding the SSM Command documents, one `<name>.yaml` each. */
  readonly documentsDir: string;
  /**
   * Prefix of the deployed document names: `<prefix>-<file name>`.
   * @default the stack name
   */
  readonly namePrefix?: string;
}

/**
 * Every SSM Command document in `ssm-documents/`, deployed as `<stack>-<file name>` so two stacks in one account never
 * share (or overwrite) a document. An update publishes a new version instead of replacing the document, so a command
 * already running keeps the version it started with.
 */
export class Runbooks extends Construct {
  /** File name without `.yaml` -> deployed document name: the shape of ACGS_DOCUMENT_NAMES. */
  readonly documentNames: Readonly<Record<string, string>>;
  readonly documents: readonly CfnDocument[];

  constructor(scope: Construct, id: string, props: RunbooksProps) {
    super(scope, id);
    const prefix = props.namePrefix ?? Stack.of(this).stackName;
    const files = readdirSync(props.documentsDir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    if (files.length === 0) throw new Error(`no SSM documents (*.yaml) in ${props.documentsDir}`);
    const names: Record<string, string> = {};
    const documents: CfnDocument[] = [];
    for (const file of files) {
      const key = basename(file, '.yaml');
      const content: unknown = parse(readFileSync(join(props.documentsDir, file), 'utf8'));
      if (typeof content !== 'object' || content === null || !('schemaVersion' in content))
        throw new Error(`${file} is not an SSM document (no schemaVersion)`);
      const name = `${prefix}-${key}`;
      documents.push(
        new CfnDocument(this, key, {
          name,
          documentType: 'Command',
          content,
          updateMethod: 'NewVersion',
        }),
      );
      names[key] = name;
    }
    this.documentNames = names;
    this.documents = documents;
  }

  /**
   * ARNs of deployed documents: those of `keys` (file names without `.yaml`), or every one. Throws for a key that is
   * not a document here, so a grant can never silently cover nothing.
   */
  documentArns(keys: readonly string[] = Object.keys(this.documentNames)): string[] {
    const stack = Stack.of(this);
    return keys.map((key) => {
      const name = this.documentNames[key];
      if (name === undefined) throw new Error(`there is no SSM document ${key}.yaml among the runbooks`);
      return stack.formatArn({
        service: 'ssm',
        resource: 'document',
        resourceName: name,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
    });
  }
}
