import { describe, expect, it } from 'vitest';
import { SERVICE_LIST_MAX_CHARS } from '../../../lambdas/core/service-list.ts';
import { loadDocument } from '../../support/unit-ssm-documents.ts';

describe('the Services list of the *-all documents', () => {
  it.each(['acgs-start-all', 'acgs-stop-all', 'acgs-rolling-update'])(
    '%s takes as many characters as the config allows',
    (name) => {
      // Act & Assess
      expect(loadDocument(name).parameters.Services?.maxChars).toBe(SERVICE_LIST_MAX_CHARS);
    },
  );
});
