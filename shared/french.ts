/**
 * French elision and contraction before a company name: "d'Exemple Conseil", "du Figaro" (Le
 * Figaro), "de la Poste", "des Échos", "de Globex". An h is left alone: whether it elides depends
 * on the word (h muet or aspiré), and "de H…" is never wrong.
 */
export function deFr(name: string): string {
  const trimmed = name.trim();
  const article = /^(le|la|les)\s+(.+)$/i.exec(trimmed);
  if (article) {
    const rest = article[2]!;
    switch (article[1]!.toLowerCase()) {
      case 'le':
        return `du ${rest}`;
      case 'les':
        return `des ${rest}`;
      default:
        return `de la ${rest}`;
    }
  }
  return /^[aeiouyàâäéèêëîïôöùûüœæ]/i.test(trimmed) ? `d'${trimmed}` : `de ${trimmed}`;
}

/** `c***@client.example`: enough for a person to recognise their address, not enough to read someone else's. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${address[0]}***${address.slice(at)}`;
}
