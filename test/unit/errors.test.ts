/**
 * Typed errors across copies of jobtable: a handler module bundled with its own copy (or the CLI's
 * build next to a project's source) throws a `PermanentJobError` that the worker must recognise.
 */
import { describe, expect, it } from 'vitest';
import * as built from 'jobtable';
import { JobTableError, PermanentJobError, ValidationError } from '../../lib/errors.ts';

describe('error kinds across copies', () => {
  it('the built package is a different copy of the classes than the source', () => {
    expect(built.PermanentJobError).not.toBe(PermanentJobError);
  });

  it('instanceof holds for an error of the same kind from another copy, and only for its kinds', () => {
    const other = new built.PermanentJobError('bad address');
    expect(other).toBeInstanceOf(PermanentJobError);
    expect(other).toBeInstanceOf(JobTableError);
    expect(other).not.toBeInstanceOf(ValidationError);
    const invalid = new built.PayloadTooLargeError('payload', 500_000, 399_000);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(new ValidationError('x', 'y')).not.toBeInstanceOf(built.PermanentJobError);
  });

  it('keeps names and plain objects out', () => {
    expect(new PermanentJobError('x').name).toBe('PermanentJobError');
    expect(new built.InvalidCursorError('cursor').name).toBe('InvalidCursorError');
    expect({ name: 'PermanentJobError', code: 'PERMANENT' }).not.toBeInstanceOf(PermanentJobError);
    expect(new Error('plain')).not.toBeInstanceOf(JobTableError);
  });
});

describe('subclasses of jobtable errors', () => {
  it('keep their own name and every jobtable kind of their chain, across copies', () => {
    class InvalidAddress extends built.PermanentJobError {}
    const e = new InvalidAddress('no @ in it');
    expect(e.name).toBe('InvalidAddress');
    expect(e).toBeInstanceOf(PermanentJobError);
    expect(e).toBeInstanceOf(JobTableError);
    class BadInput extends ValidationError {}
    expect(new BadInput('field', 'limit').name).toBe('BadInput');
    expect(new BadInput('field', 'limit')).toBeInstanceOf(built.ValidationError);
  });
});
