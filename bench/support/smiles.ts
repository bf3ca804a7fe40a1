/** Varied drug-like SMILES for the benchmarks: scaffolds × substituents. */
const SCAFFOLDS = [
  'c1cc({A})c({C})cc1C(=O)N{B}',
  'c1nc({A})c2cc({B})c({C})cc2n1',
  'O=C(N{A})c1ccc(cc1{C}){B}',
  'c1cc(ncc1{A})N1CC({C})N(CC1){B}',
  'C1CN(CCC1{A})C(=O)c1cc({C})c({B})s1',
  'c1cc2[nH]c({A})c({C})c2cc1{B}',
  'c1cc({A})cc(c1{C})S(=O)(=O)N{B}',
  'c1nc({C})nc(c1{A})O{B}',
];
/** Ring closures use %9x so they never clash with a scaffold's own rings. */
const SUBSTITUENTS = [
  'C',
  'CC',
  'OC',
  'F',
  'Cl',
  'C(F)(F)F',
  'N(C)C',
  'C#N',
  'c%91ccccc%91',
  'C%91CC%91',
  'C(=O)N',
  'CCN%91CCOCC%91',
  'S(C)(=O)=O',
  'c%91ccc(F)cc%91',
  'CC(C)C',
  '[C@@H](N)C(=O)O',
  'CCCCO',
  'c%91ccncc%91',
  'C(=O)OC',
  'OCC(F)F',
  'N%91CCCC%91',
  'CCOc%91ccccc%91',
  'C/C=C/C',
  'Br',
  'CC(=O)Nc%91cccc(Cl)c%91',
];

/** `count` distinct drug-like SMILES (8 × 25³ = 125,000 available), spread over all scaffolds. */
export function drugLikeSmiles(count: number): string[] {
  const all: string[] = [];
  for (const a of SUBSTITUENTS) {
    for (const b of SUBSTITUENTS) {
      for (const c of SUBSTITUENTS) {
        for (const scaffold of SCAFFOLDS) all.push(scaffold.replace('{A}', a).replace('{B}', b).replace('{C}', c));
      }
    }
  }
  if (count > all.length) throw new Error(`asked for ${count} SMILES; the generator has ${all.length}`);
  return all.slice(0, count);
}
