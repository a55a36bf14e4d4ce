import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The AWS CLI where the PostgreSQL server's user ("postgres") can run it, for archive_command: on these machines the
 * CLI lives in root's pyenv (/root is not traversable by other users), so its Python packages are copied under `dir`
 * and run by the system interpreter of the same version. Fails naming what is missing; never skips.
 * @returns the directory to put first on the server's PATH (it holds `aws`).
 */
export async function serverReachableAwsCli(dir: string): Promise<string> {
  const { stdout } = await promisify(execFile)('python3', [
    '-c',
    'import awscli, os, sys; print(os.path.dirname(os.path.dirname(awscli.__file__))); print("%d.%d" % sys.version_info[:2])',
  ]).catch((error: unknown) => {
    throw new Error('python3 with the awscli package (the AWS CLI v1) is needed to archive to moto', { cause: error });
  });
  const [sitePackages = '', version = ''] = stdout.trim().split('\n');
  const python = `/usr/bin/python${version}`;
  if (!existsSync(python))
    throw new Error(`${python} (the AWS CLI's Python version, readable by postgres) is needed to archive to moto`);
  const packages = join(dir, 'site-packages');
  mkdirSync(packages, { recursive: true });
  for (const name of [
    'awscli',
    'botocore',
    's3transfer',
    'jmespath',
    'dateutil',
    'urllib3',
    'docutils',
    'yaml',
    'rsa',
    'colorama',
    'pyasn1',
    'six.py',
  ]) {
    const from = join(sitePackages, name);
    if (existsSync(from)) cpSync(from, join(packages, name), { recursive: true });
  }
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const aws = join(bin, 'aws');
  writeFileSync(
    aws,
    `#!/bin/sh\nPYTHONPATH='${packages}' exec ${python} -c 'import sys; from awscli.clidriver import main; sys.exit(main())' "$@"\n`,
  );
  chmodSync(aws, 0o755);
  accessSync(aws, constants.X_OK);
  return bin;
}
