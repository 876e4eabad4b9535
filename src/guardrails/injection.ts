/**
 * A heuristic prompt-injection score: phrases and markers that injections use,
 * each with a weight; the score is the chance that at least one is telling
 * (1 − Π(1 − weight)) over the distinct signals found. It catches the common,
 * copy-pasted attacks; it does not catch paraphrases, other languages, encoded
 * or split payloads, or instructions hidden in images (README, "Guardrails").
 * Every repeat is bounded (safe-regex.ts).
 */

interface Signal {
  name: string;
  weight: number;
  re: RegExp;
}

const SIGNALS: Signal[] = [
  {
    name: 'ignore_instructions',
    weight: 0.6,
    re: /\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system|developer)\b[^.\n]{0,40}?\b(?:instructions?|prompts?|rules|directions|guidelines|directives)\b/i,
  },
  {
    name: 'reveal_prompt',
    weight: 0.5,
    re: /\b(?:reveal|print|show|repeat|output|display|leak|dump|tell me)\b[^.\n]{0,30}?\b(?:system|initial|hidden|original|secret|developer)\s{1,3}(?:prompt|instructions|message)/i,
  },
  {
    name: 'role_override',
    weight: 0.4,
    re: /\byou are (?:now|no longer)\b|\bfrom now on,? you\b|\b(?:act as|you are) (?:if you (?:were|are) )?(?:an? )?(?:unrestricted|unfiltered|uncensored|jailbroken|evil)\b/i,
  },
  { name: 'jailbreak_terms', weight: 0.4, re: /\b(?:do anything now|developer mode|jailbreak|jailbroken|god mode)\b/i },
  // The persona's name, in capitals only: "Dan" is a name.
  { name: 'dan_persona', weight: 0.3, re: /\bDAN\b/ },
  {
    name: 'no_restrictions',
    weight: 0.3,
    re: /\b(?:without|no|free of|ignore (?:all|any|your))\s{1,3}(?:restrictions|limitations|filters|guidelines|rules|censorship|safety)\b/i,
  },
  {
    name: 'fake_delimiters',
    weight: 0.4,
    re: /<\|(?:im_start|im_end|system|endoftext|begin_of_text|start_header_id)\|>|\[\/?INST\]|<<\/?SYS>>|^[ \t]{0,8}#{2,4}[ \t]{0,4}(?:system|instructions?)\b/im,
  },
  { name: 'fake_role', weight: 0.3, re: /(?:^|\n)[ \t]{0,4}(?:system|assistant|developer)[ \t]{0,2}:/i },
  { name: 'new_instructions', weight: 0.3, re: /\b(?:new|updated|real|actual|secret) instructions?[ \t]{0,2}:/i },
  { name: 'hidden_characters', weight: 0.2, re: /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/ },
  { name: 'encoded_payload', weight: 0.2, re: /\b(?:base64|rot13|hex)[- ]?(?:encoded|decode|decoding)\b/i },
];

export interface InjectionScore {
  score: number;
  signals: string[];
}

export function injectionScore(texts: readonly string[]): InjectionScore {
  const signals: string[] = [];
  let clean = 1;
  for (const signal of SIGNALS) {
    if (texts.some((text) => signal.re.test(text))) {
      signals.push(signal.name);
      clean *= 1 - signal.weight;
    }
  }
  return { score: Math.round((1 - clean) * 1000) / 1000, signals };
}
