"""The weighted patterns ``scan`` runs on a skeleton, and the regex building blocks they are made of."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

W = r"(?:\W+\w+){0,%d}?\W+"  # a gap of up to n words between two parts of a pattern
# English imperatives look like ordinary instructions to citizens; only those that open a clause count
_CLAUSE_START = re.compile(r"(?:[.!?:;,(\n\"'\-–]\s*|\b(?:please|now|then|also|and|first|finally|simply|just|bitte|"
                           r"jetzt|dann|und)\s+)$", re.IGNORECASE)
_NEGATION = re.compile(r"\b(never|not|no\s+one|nobody|don'?t|do\s+not|niemals|nie|nicht|keine?[mnrs]?|niemand)\b",
                       re.IGNORECASE)
_NEGATION_OR_ENTRY = re.compile(_NEGATION.pattern + r"|\bein\s*([.!,;:)]|$|und\b)|\beingeben\b|\beinzugeben\b",
                                re.IGNORECASE | re.MULTILINE)
# words for a model that never mean a person ("KI-Strategie" is not addressed to a model: no hyphen after)
_AI = (r"(?:ki-assistent\w*|ai\s+assistants?|a\.i\.|ai|ki|llms?|large\s+language\s+models?|language\s+models?|"
       r"sprachmodell\w*|chatbots?|chatgpt|gpt|claude|gemini|llama|qwen|copilot)(?![\w-])")


@dataclass(frozen=True)
class Pattern:
    kind: str
    weight: float
    regex: re.Pattern[str]
    unless: re.Pattern[str] | None = None  # skip when this occurs around the hit (e.g. a negation)
    reweigh: Callable[[str], float] | None = None  # weight from the hit's text
    imperative: bool = False  # the hit must open a clause (English imperatives)


def _p(kind: str, weight: float, pattern: str, flags: int = re.IGNORECASE | re.MULTILINE,
       unless: re.Pattern[str] | None = None, reweigh: Callable[[str], float] | None = None,
       imperative: bool = False) -> Pattern:
    return Pattern(kind, weight, re.compile(pattern, flags), unless, reweigh, imperative)


_INSTRUCTION_WORDS = re.compile(
    r"\b(ignor\w*|vergiss|disregard|forget|instruction\w*|anweisung\w*|prompt\w*|system|antworte\w*|answer|respond|"
    r"reply|say|sag|schreib\w*|output|print|gib|reveal|you\s+are|du\s+bist|assistant|assistent\w*|model|modell)\b|"
    + _AI, re.IGNORECASE)


def _comment_weight(snippet: str) -> float:
    """A comment that speaks to a model or gives orders is an attack; a plain comment is not."""
    body = re.sub(r"^<!--|-->$|^\s*\[[^\]]*\]:\s*(#|<>)\s*", "", snippet.strip())
    return 0.9 if _INSTRUCTION_WORDS.search(body) else 0.2


def _region(start: str, end: str) -> str:
    """A marker and the fake turn after it: up to the closing marker, or the end of the paragraph."""
    return f"{start}.*?(?:{end}|(?=\\n[ \\t]*\\n)|\\Z)"


_HEADING_ROLES = (r"(?:system(?:\s*prompt|\s*message|nachricht|anweisung\w*|prompt)?|assistant|developer|human|"
                  r"response|ai|ki)")
_LINE_ROLES = (r"(?:system(?:\s*(?:prompt|message|note|override|notice|update))?|systemnachricht|systemanweisung|"
               r"systemhinweis|systemprompt|admin(?:istrator)?\s*(?:note|override|hinweis))")
_WEAK_LINE_ROLES = r"(?:developer|entwickler|assistant|assistent|ai|ki|user|human|benutzer|nutzer)"
# after a line-start marker with nothing else on its line, the fake turn is the next paragraph
_NEXT_PARAGRAPH = r"[^\n]*(?:\n[ \t]*(?=\n))*(?:\n(?![ \t]*\n)[^\n]*)*"

_EN_LEAK_VERBS = (r"(reveal|repeat|print|show|display|output|tell|disclose|leak|share|write\s+out|spell\s+out|dump|"
                  r"recite|paste|summari[sz]e|translate|list|give|type|copy|send|return|provide)")
_DE_DU_VERBS = (r"(gib|zeig|zeige|nenne|wiederhole|verrate|schreib|schreibe|drucke|liste|kopiere|uebersetze|fasse|"
                r"poste|teile|offenbare|enthuelle|sag|sage|gebe)")
_DE_ANY_VERBS = _DE_DU_VERBS[:-1] + r"|geben\s+sie|nennen\s+sie|zeigen\s+sie|wiederholen\s+sie|verraten\s+sie)"
_SECRETS_EN = (r"(passwords?|passwd|api[\s_-]?keys?|secret[\s_-]?keys?|secrets|access[\s_-]?tokens?|credentials|"
               r"private[\s_-]?keys?|env(ironment)?[\s_-]?variables|connection\s+strings?|ssh\s+keys?)")
_SECRETS_DE = (r"(passw(o|oe)rt\w*|kennw(o|oe)rt\w*|zugangsdaten|anmeldedaten|api-?\s*schluessel\w*|api-?\s*keys?|"
               r"geheimschluessel\w*|privaten?\s+schluessel\w*|zugangstoken\w*|api-?token\w*|geheimnis\w*|"
               r"umgebungsvariablen)")
_DATA_NOUNS = (r"(conversation|chat\s+history|history|previous\s+messages|user'?s?\s+(data|messages?|question|input)|"
               r"secrets?|passwords?|system\s*prompt|verlauf|gespraech\w*|chatverlauf|nutzerdaten|benutzerdaten|"
               r"frage\s+des\s+(nutzers|benutzers)|personenbezogene\w*\s+daten|persoenliche\w*\s+daten|systemprompt)")
_EXFIL_VERBS_EN = (r"(render|display|show|output|print|include|embed|append|add|insert|attach|encode|send|post|upload|"
                   r"forward|exfiltrate|leak)")
_EXFIL_VERBS_DE = r"(haenge|fuege|sende|schicke|uebertrage|kodiere|baue|rendere|zeige|gib|leite)"
_SINKS = r"(url|link|image|img|bild|webhook|endpoint|server|https?|markdown)"

PATTERNS: list[Pattern] = [
    # ignore / override / forget instructions
    _p("override", 0.9,
       r"\b(ignore|disregard|forget|override|bypass|abandon|discard|neglect)\b" + W % 3 +
       r"(previous|prior|above|preceding|earlier|all|any|your|initial|original|system|existing|current|safety|"
       r"every|those|these|the)\b" + W % 2 +
       r"(instructions?|rules|prompts?|guidelines|directives|commands|restrictions|constraints|guardrails|"
       r"programming|system\s*prompt|polic(?:y|ies))\b"),
    _p("override", 0.9,
       r"\b(ignorier(?:e|t)?|vergiss|vergesst|missachte|verwirf|umgehe?|ueberschreibe?|uebergehe?)\b" + W % 3 +
       r"(alle|saemtliche|deine?n?|vorherig\w*|bisherig\w*|obig\w*|vorig\w*|vorangegangen\w*|frueher\w*|"
       r"urspruenglich\w*|system\w*|jegliche\w*)\b" + W % 2 +
       r"(anweisung\w*|instruktion\w*|regel\w*|vorgabe\w*|befehl\w*|richtlinie\w*|prompt\w*|systemanweisung\w*|"
       r"einschraenkung\w*|sicherheitsregel\w*|programmierung)"),
    _p("override", 0.9, r"\b(ignorier(?:e|t)?|missachte|verwirf)\b" + W % 3 +
                        r"(anweisung\w*|instruktion\w*|prompt\w*|systemanweisung\w*|regeln|vorgaben)"),
    _p("override", 0.8,
       r"\b(ignorieren|vergessen|missachten)\s+sie\b" + W % 3 +
       r"(alle|saemtliche|vorherig\w*|bisherig\w*|obig\w*|vorig\w*|vorangegangen\w*|ihre\s+system\w*)\b" + W % 2 +
       r"(anweisung\w*|instruktion\w*|prompt\w*|systemanweisung\w*|befehl\w*)"),
    _p("override", 0.7, r"\b(new|updated|revised|real|actual|neue|aktualisierte|geaenderte|eigentliche|wahre)\s+"
                        r"(instructions?|anweisung(?:en)?|instruktion(?:en)?|befehle?|regeln|rules)\s*:"),
    _p("override", 0.8, r"\b(your|deine?)\s+(new|real|true|actual|only|neue|eigentliche|wahre|einzige)\s+"
                        r"(task|job|mission|purpose|goal|instructions?|aufgabe|mission|anweisung)\s+(is|are|ist|lautet)"),
    _p("override", 0.6, r"\b(instead|stattdessen)\b" + W % 3 +
                        r"(say|write|answer|reply|respond|output|print|sag|sage|schreib\w*|antworte\w*|gib)\b"),
    _p("override", 0.6, r"\b(say|answer|reply|respond|output|print|sag|sage|schreibe?|antworte|gib)\b" + W % 4 +
                        r"(instead|stattdessen)\b"),
    # new role / persona
    _p("role_change", 0.9,
       r"\byou\s+are\s+(now|no\s+longer|henceforth|from\s+now\s+on)\b" + W % 3 +
       r"(dan|ai|assistant|chatbot|bot|persona|character|hacker|pirate|villain|jailbroken|unrestricted|unfiltered|"
       r"uncensored|evil|called|named|bound|restricted|limited|language\s+model)\b"),
    _p("role_change", 0.8,
       r"\bfrom\s+now\s+on\b,?\s+(you|your)\b" + W % 2 +
       r"(are|must|shall|act|respond|answer|reply|speak|behave|only|ignore|pretend|role|name|persona|always|never)\b"),
    _p("role_change", 0.6, r"\bact\s+as\s+(a|an|if|though|my|dan)\b", imperative=True),
    _p("role_change", 0.7, r"\b(pretend|imagine)\s+(to\s+be|that\s+you|you\s+are|you're)\b"),
    _p("role_change", 0.7, r"\b(role-?play|roleplay)\s+as\b|\b(new|neue)\s+(persona|identity|identitaet)\b"),
    _p("role_change", 0.4,
       r"\bdu\s+bist\s+(jetzt|ab\s+sofort|nun|ab\s+jetzt|von\s+nun\s+an|ab\s+heute|nicht\s+mehr|kein\w*\s+mehr)\b"),
    _p("role_change", 0.9,
       r"\bdu\s+bist\s+(jetzt|ab\s+sofort|nun|ab\s+jetzt|von\s+nun\s+an|ab\s+heute|nicht\s+mehr)\b" + W % 3 +
       r"(dan|ki|assistent\w*|chatbot|bot|modell|persona|figur|hacker|pirat\w*|agent|admin\w*|entwickler\w*|"
       r"uneingeschraenkt\w*|ungefiltert\w*|boese\w*|gebunden|namens|genannt)\b"),
    _p("role_change", 0.8,
       r"\b(ab\s+sofort|von\s+nun\s+an|ab\s+jetzt|ab\s+hier)\b,?\s+(bist|antwortest|sprichst|schreibst|"
       r"verhaeltst|gibst|ignorierst|agierst|handelst|heisst|spielst|musst|sollst|darfst)\s+du\b"),
    _p("role_change", 0.7,
       r"\b(spiele?|uebernimm|schluepfe?)\s+(jetzt\s+|ab\s+sofort\s+|nun\s+)?(die|in\s+die)\s+rolle\b|"
       r"\btu\s+so,?\s+als\b|\bverhalte\s+dich\s+(ab\s+sofort\s+|jetzt\s+|nun\s+)?(wie|als)\b|\bgib\s+dich\s+als\b"),
    _p("role_change", 0.9, r"\bdo\s+anything\s+now\b|\bjailbr(ea|o)k\w*\b"),
    # reveal or repeat the system prompt
    _p("prompt_leak", 0.9,
       r"\b" + _EN_LEAK_VERBS + r"\b" + W % 5 +
       r"(system\s*-?\s*prompts?|system\s+messages?|initial\s+(prompt|instructions)|hidden\s+(prompt|instructions)|"
       r"secret\s+(prompt|instructions)|original\s+(prompt|instructions)|pre-?prompt|meta-?prompt|"
       r"your\s+(instructions|rules|guidelines|prompt|directives|configuration|programming)|"
       r"(everything|all|the\s+text|the\s+words|the\s+lines|anything)\s+(above|before|preceding|prior|you\s+were\s+told)"
       r"|(previous|above|prior)\s+(text|messages|conversation|instructions))"),
    _p("prompt_leak", 0.8, r"\bwhat\s+(is|are|were)\s+your\s+(system|initial|original|hidden|secret|exact|full)?\s*"
                           r"(prompt|instructions|rules|guidelines|directives)\b"),
    _p("prompt_leak", 0.9,
       r"\b" + _DE_DU_VERBS + r"\b" + W % 5 +
       r"(deine?[nmrs]?|urspruenglich\w*|versteckt\w*|geheim\w*|obig\w*|vorherig\w*|komplett\w*|vollstaendig\w*|"
       r"gesamt\w*|exakt\w*)\s+(system-?\s*prompt|prompt|system\w*|anweisung\w*|instruktion\w*|regel\w*|vorgabe\w*|"
       r"konfiguration|programmierung)"),
    _p("prompt_leak", 0.9, r"\b" + _DE_ANY_VERBS + r"\b" + W % 5 +
                           r"(system-?\s*prompt\w*|systemanweisung\w*|systemnachricht\w*|initiale\w*\s+prompt)"),
    _p("prompt_leak", 0.8, r"\b(was|wie)\s+(lautet|lauten|sind|ist|waren)\s+deine?n?\s+(system\w*|anweisung\w*|"
                           r"instruktion\w*|regeln|vorgaben|prompt\w*)"),
    _p("prompt_leak", 0.8, r"\b(wiederhole|gib|schreib\w*|kopiere)\b" + W % 2 +
                           r"(alles|den\s+text|die\s+woerter|saemtliche\w*)\b" + W % 2 +
                           r"(oberhalb|ueber\s+diese\w*|vor\s+dieser|davor|bisher|zuvor)"),
    _p("prompt_leak", 0.4, r"\b(system\s*-?\s*prompt|systemprompt|systemanweisung\w*|systemnachricht\w*|"
                           r"system\s+message)\b"),
    # developer / unrestricted mode
    _p("developer_mode", 0.45, r"\b(developer|dev|debug|god|admin|sudo|unrestricted|jailbreak|dan|entwickler|"
                               r"administrator|gott|uneingeschraenkt\w*)[\s-]?(mode|modus)\b"),
    _p("developer_mode", 0.9,
       r"\b(enable|activate|enter|switch\s+to|turn\s+on|aktiviere|wechsle|schalte|starte|betrete)\b" + W % 3 +
       r"(developer|dev|debug|god|admin|sudo|unrestricted|jailbreak|dan|entwickler|administrator|gott|"
       r"uneingeschraenkt\w*)[\s-]?(mode|modus)\b"),
    _p("developer_mode", 0.9,
       r"\b(developer|dev|debug|god|admin|sudo|unrestricted|jailbreak|dan|entwickler|administrator|gott)[\s-]?"
       r"(mode|modus)\b" + W % 2 + r"(enabled|activated|on|unlocked|aktiviert|aktiv|eingeschaltet|freigeschaltet)\b"),
    _p("developer_mode", 0.3, r"\b(no|without|keine|ohne)\s+(restrictions|limits|filters|censorship|zensur|filter)\b"),
    # spoofed tool / function calls
    _p("tool_spoof", 0.8, r"[\"'](function_call|tool_calls?|tool_use|tool_name|function)[\"']\s*:"),
    _p("tool_spoof", 0.8, r"[\"']name[\"']\s*:\s*[\"'][\w.\-]+[\"']\s*,\s*[\"'](arguments|parameters|args|input)[\"']"
                          r"\s*:"),
    _p("tool_spoof", 0.9, r"</?\s*(tool_call|tool_use|tool_result|function_calls?|function_results?|invoke|"
                          r"antml:\w+|tool_code|execute)\b[^>]*>|<\|(python_tag|tool_call|plugin|recipient)\|>"),
    _p("tool_spoof", 0.8, r"\b(functions|tools)\.\w+\s*\("),
    _p("tool_spoof", 0.5, r"\b(call|invoke|execute|run|trigger)\s+the\s+(\w+\s+)?(tool|function|plugin)\b|"
                          r"\b(rufe|fuehre)\s+(die|das|den)\s+(funktion|tool|werkzeug|plugin)\b"),
    # role markers of chat templates: the marker and the fake turn behind it
    _p("role_marker", 0.95, _region(r"<\|\s*(im_start|system|user|assistant|developer)\s*\|>", r"<\|\s*im_end\s*\|>"),
       re.IGNORECASE | re.DOTALL),
    _p("role_marker", 0.95, r"<\|\s*(im_end|endoftext|begin_of_text|end_of_text|start_header_id|end_header_id|"
                            r"eot_id|eom_id|im_sep|end|fim_\w+)\s*\|>"),
    _p("role_marker", 0.95, _region(r"\[INST\]", r"\[/INST\]"), re.IGNORECASE | re.DOTALL),
    _p("role_marker", 0.95, _region(r"<<\s*SYS\s*>>", r"<</\s*SYS\s*>>"), re.IGNORECASE | re.DOTALL),
    _p("role_marker", 0.9, r"\[/INST\]|<</?SYS>>|<start_of_turn>\s*\w*|<end_of_turn>|"
                           r"\[/?(SYSTEM|ASSISTANT|USER|DEVELOPER)(_PROMPT)?\]"),
    _p("role_marker", 0.9, r"^[ \t>]*#{1,6}[ \t]*" + _HEADING_ROLES + r"\b[ \t]*:?[ \t]*(?:\n|$)" + _NEXT_PARAGRAPH),
    _p("role_marker", 0.9, r"^[ \t>]*#{1,6}[ \t]*" + _HEADING_ROLES + r"\b[ \t]*:[^\n]*"),
    _p("role_marker", 0.8, r"^[ \t>\-\[(]*" + _LINE_ROLES + r"[ \t]*[\])]?[ \t]*:[ \t]*(?:\n|$)" + _NEXT_PARAGRAPH),
    _p("role_marker", 0.8, r"^[ \t>\-\[(]*" + _LINE_ROLES + r"[ \t]*[\])]?[ \t]*:[ \t]*\S[^\n]*"),
    _p("role_marker", 0.35, r"^[ \t>\-\[(]*" + _WEAK_LINE_ROLES + r"[ \t]*[\])]?[ \t]*:"),
    _p("role_marker", 0.6, r"\bSYSTEM\s*(OVERRIDE|MESSAGE|NOTE|NOTICE|ALERT|UPDATE|ANWEISUNG|HINWEIS)?\s*:", flags=0),
    # comments and hidden markup that carry instructions
    _p("hidden_comment", 0.9, r"<!--.*?(-->|\Z)", re.IGNORECASE | re.DOTALL, reweigh=_comment_weight),
    _p("hidden_comment", 0.9, r"^[ \t]*\[[^\]\n]{0,40}\]:\s*(#|<>)\s*[(\"'][^\n]*", reweigh=_comment_weight),
    _p("hidden_comment", 0.5, r"<\w+[^>]*(display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|"
                              r"\bhidden\b|aria-hidden|opacity\s*:\s*0)[^>]*>"),
    # exfiltration through links and images
    _p("exfiltration", 0.9, r"!\[[^\]\n]{0,200}\]\(\s*<?(https?:)?//[^)\s]+\?[^)\s]*=[^)]*\)"),
    _p("exfiltration", 0.9, r"<img\b[^>]*\bsrc\s*=\s*[\"']?(https?:)?//[^\"'>\s]+\?[^\"'>\s]*=[^>]*>"),
    _p("exfiltration", 0.4, r"!\[[^\]\n]{0,200}\]\(\s*<?(https?:)?//[^)\s]+\)"),
    _p("exfiltration", 0.9, r"https?://\S*(\{|%7b|\[|<)\s*\$?\w*(conversation|chat|history|verlauf|prompt|secret|"
                            r"data|daten|antwort|answer|question|frage|message|nachricht|user|password|key|email)"),
    _p("exfiltration", 0.9, r"\b" + _EXFIL_VERBS_EN + r"\b" + W % 8 + _DATA_NOUNS + r"\b" + W % 8 + _SINKS,
       unless=_NEGATION, imperative=True),
    _p("exfiltration", 0.9, r"\b" + _EXFIL_VERBS_EN + r"\b" + W % 8 + _SINKS + r"\b" + W % 8 + _DATA_NOUNS,
       unless=_NEGATION, imperative=True),
    _p("exfiltration", 0.9, r"\b" + _EXFIL_VERBS_DE + r"\b" + W % 8 + _DATA_NOUNS + r"\b" + W % 8 + _SINKS),
    _p("exfiltration", 0.9, r"\b" + _EXFIL_VERBS_DE + r"\b" + W % 8 + _SINKS + r"\b" + W % 8 + _DATA_NOUNS),
    _p("exfiltration", 0.6, r"\b(haenge|fuege|uebertrage|kodiere|baue|rendere)\b" + W % 8 +
                            r"(url|link|webhook|endpoint|https?://)"),
    # requests for secrets
    _p("secret_request", 0.8,
       r"\b" + r"(reveal|print|output|show|display|tell|give|list|send|share|leak|dump|expose|disclose|return|provide|"
       r"write|read\s+out|type)\b" + W % 4 +
       r"(the|all|any|every|internal|stored|admin\w*|root|system|database|server|api|secret|hidden|saved|"
       r"configured|master)\W+(\w+\W+)?" + _SECRETS_EN + r"\b", unless=_NEGATION, imperative=True),
    _p("secret_request", 0.8, r"\b(gib|nenne|zeig|zeige|verrate|schick|schicke|sende|liste|schreib|schreibe|poste|"
                              r"teile|kopiere|drucke|gebe)\b" + W % 5 + _SECRETS_DE + r"\b",
       unless=_NEGATION_OR_ENTRY),
    # instructions addressed to a model
    _p("addressed_to_ai", 0.7, r"\b(note|message|instructions?|hinweis|nachricht|anweisung(en)?|info|memo)\s+"
                               r"(to|for|an|fuer)\s+(the\s+|die\s+|den\s+|das\s+|alle\s+|any\s+|all\s+)?" + _AI),
    _p("addressed_to_ai", 0.8, r"\b(if|when)\s+you\s+are\s+(an?|the)\s+(ai|llm|language\s+model|assistant|chatbot|"
                               r"bot|model|ai\s+assistant)\b"),
    _p("addressed_to_ai", 0.8, r"\b(wenn|falls)\s+du\s+(eine?\s+|der\s+|die\s+|das\s+)?(ki|sprachmodell|chatbot|bot|"
                               r"assistent|ki-assistent|modell|llm)\b"),
    _p("addressed_to_ai", 0.6, r"\b(dear|liebe[rs]?|hallo|hey|hi|attention|achtung)\s+" + _AI),
    _p("addressed_to_ai", 0.7, r"(^|[.!?:;]\s+)(to|an)\s+(all\s+|alle\s+|the\s+|die\s+|den\s+)?" + _AI +
                               r"[\s-]*(assistants?|assistenten|systems?|systeme|models?|modelle)?\s*:"),
    _p("addressed_to_ai", 0.4, r"\b(ai|llm|ki|language\s+models?|sprachmodell\w*|chatbots?)\s+(reading|processing|"
                               r"die\s+diese\w*)\b"),
    # output control: the payload sentence of most attacks
    _p("output_control", 0.7,
       r"\b(antworte|sag|sage|schreib|schreibe|gib|gebe|drucke|wiederhole|nenne)\b" + W % 6 +
       r"(nur\s+noch|nur\s+mit|ausschliesslich|lediglich|stattdessen|woertlich|nur\s+das\s+wort)\b"),
    _p("output_control", 0.7, r"\b(deine|deiner)\s+(\w+\s+)?(antwort|ausgabe)\w*\s+(muss|muessen|soll|sollen|beginnt|"
                              r"endet|enthaelt|beginnen|enden|enthalten|mit)\b"),
    _p("output_control", 0.7, r"\b(jede|alle|jeder)\s+(\w+\s+)?(antwort|ausgabe)\w*\s+(muss|soll|muessen|sollen)\s+"
                              r"(mit|das\s+wort|den\s+satz|die\s+zeichenfolge)"),
    _p("output_control", 0.8,
       r"\b(beende|beginne|starte|schliesse|ergaenze|fuege|haenge|versieh)\b" + W % 3 + r"(jede|deine|alle|jeder|"
       r"deiner)\s+(\w+\s+)?(antwort|ausgabe)\w*"),
    _p("output_control", 0.45,
       r"\b" + r"(respond|reply|answer|say|output|print|write|type|return)\b" + W % 5 +
       r"(only|just|exactly|verbatim|nothing\s+(else|but))\b", imperative=True),
    _p("output_control", 0.7, r"\b(respond|reply|answer|say|output|print|write|type|return)\b" + W % 3 +
                              r"(the\s+word|the\s+phrase|the\s+string|the\s+token|the\s+code\s*word)\b"),
    _p("output_control", 0.45, r"\b(always|every|each)\s+(answer|response|reply|output|message)s?\s+(must|should|"
                               r"has\s+to|have\s+to|will|shall)\b"),
    _p("output_control", 0.45, r"\b" + r"(end|start|begin|prefix|suffix|append\s+to|conclude|finish)\b" + W % 2 +
                               r"(every|each|all|your)\s+(\w+\s+)?(answer|response|reply|output|message)s?\b",
       imperative=True),
    _p("output_control", 0.45, r"\bin\s+(your|every|each|all)\s+(answer|response|reply|output)s?\b,?\s+(include|"
                               r"mention|write|say|add|output|print|append|always)\b"),
    _p("output_control", 0.7, r"\b(in|bei)\s+(deiner|jeder|allen)\s+(antwort|ausgabe)\w*\b,?\s+(nenne|schreib\w*|"
                              r"erwaehne|gib|fuege|haenge|sag\w*|immer)\b"),
    _p("output_control", 0.8, r"\b(schreibe?|setze?|fuege|haenge|nenne|erwaehne|gib|packe?|stelle?)\b" + W % 3 +
                              r"(in|an|unter|vor|hinter|ueber|ans\s+ende)\s+(jede|deine|jeder|deiner|alle|allen)\s+"
                              r"(\w+\s+)?(antwort|ausgabe|nachricht)\w*"),
    _p("output_control", 0.45, r"\b(antworte|antwortet)\s+(\w+\s+)?(mit|nur|immer|stets)\b"),
    _p("output_control", 0.45, r"\b(always|never)\s+(ends?|starts?|begins?|finish(es)?|says?|answers?|repl(y|ies)|"
                               r"responds?|writes?|outputs?|includes?|adds?|prints?)\b" + W % 2 +
                               r"(every|each|all|your|its|his|her|their|with)\b"),
    _p("output_control", 0.3, r"\b(reply|respond|answer|finish|end|conclude|sign\s+off|start|begin)\s+"
                              r"(it\s+|them\s+|this\s+|your\s+answer\s+|the\s+answer\s+)?with\b"),
    _p("prompt_leak", 0.45, r"\b(put|wrap|format|place|print|write)\s+(them|it|this|everything|all\s+of\s+it|the\s+"
                            r"(text|words|instructions|prompt|rules))\s+(in|into|as)\s+(a\s+)?(code\s*block|markdown|"
                            r"json|base64)\b"),
    _p("role_change", 0.7, r"\b(broken|break|breaks|freed|free)\s+(free\s+)?(of|from)\s+(the\s+)?(typical\s+)?"
                           r"(confines|rules|restrictions|limitations|constraints|shackles)\b"),
    # instructions hidden in encodings
    _p("encoded", 0.6, r"\b(decode|dekodiere|entschluessele|base64|rot13)\b" + W % 6 +
                       r"(follow|execute|obey|befolge|fuehre|ausfuehren|and\s+do|und\s+tu|instructions?|anweisung\w*)"),
]
# letter-spaced or squashed words ("i g n o r e a l l") that only make sense as an instruction
_SQUASHED = re.compile(
    r"ignor|disregard|instruction|anweisung|systemprompt|vergiss|developermode|entwicklermodus|youarenow|"
    r"dubistjetzt|passw|kennwort|jailbreak|revealyour|verrate", re.IGNORECASE)
