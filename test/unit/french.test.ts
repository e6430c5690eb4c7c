import { describe, expect, it } from 'vitest';
import { deFr, maskAddress } from '../../shared/french.ts';

describe('French before a company name', () => {
  it.each([
    ['Exemple Conseil SAS', "d'Exemple Conseil SAS"],
    ['ACME Prospection SARL', "d'ACME Prospection SARL"],
    ['Le Figaro', 'du Figaro'],
    ['La Poste', 'de la Poste'],
    ['Les Échos', 'des Échos'],
    ['Globex GmbH', 'de Globex GmbH'],
    ['Hachette Livre', 'de Hachette Livre'],
    ['Œuvre Sociale', "d'Œuvre Sociale"],
  ])('%s → %s', (name, expected) => {
    expect(deFr(name)).toBe(expected);
  });

  it('masks an address to its first letter and domain', () => {
    expect(maskAddress('carol@client.example')).toBe('c***@client.example');
    expect(maskAddress('nonsense')).toBe('***');
  });
});
