"""Fixed texts of citizen assistants in the languages the city's citizens use most.

They are written, not generated, so an abstention, the AI notice and the quote fallback are always
correct in the asker's language.
"""

from __future__ import annotations

LANGUAGE_NAMES = {
    "de": "German", "en": "English", "tr": "Turkish", "ar": "Arabic", "uk": "Ukrainian", "ru": "Russian",
    "pl": "Polish", "hr": "Croatian", "ro": "Romanian", "it": "Italian", "el": "Greek",
}

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "abstain": "Dazu habe ich keine verlässliche Information in den amtlichen Quellen.",
        "contact": "Bitte wenden Sie sich an:",
        "notice": "Diese Antwort wurde mit KI erstellt (Hinweis nach Art. 50 KI-Verordnung). "
                  "Maßgeblich sind die zitierten Quellen.",
        "according": "Laut Quelle [{n}]:",
        "sources": "Quellen",
    },
    "en": {
        "abstain": "I have no reliable information on this in the official sources.",
        "contact": "Please contact:",
        "notice": "This answer was generated with AI (notice under Art. 50 EU AI Act). "
                  "The quoted sources are authoritative.",
        "according": "According to source [{n}]:",
        "sources": "Sources",
    },
    "tr": {
        "abstain": "Bu konuda resmi kaynaklarda güvenilir bir bilgim yok.",
        "contact": "Lütfen şuraya başvurun:",
        "notice": "Bu yanıt yapay zekâ ile oluşturulmuştur (AB Yapay Zekâ Yasası Madde 50). "
                  "Belirleyici olan alıntılanan kaynaklardır.",
        "according": "[{n}] numaralı kaynağa göre:",
        "sources": "Kaynaklar",
    },
    "ar": {
        "abstain": "ليست لدي معلومات موثوقة حول هذا الموضوع في المصادر الرسمية.",
        "contact": "يرجى التواصل مع:",
        "notice": "تم إنشاء هذه الإجابة بواسطة الذكاء الاصطناعي (المادة 50 من قانون الذكاء الاصطناعي الأوروبي). "
                  "المصادر المقتبسة هي المرجع.",
        "according": "وفقًا للمصدر [{n}]:",
        "sources": "المصادر",
    },
    "uk": {
        "abstain": "Я не маю достовірної інформації про це в офіційних джерелах.",
        "contact": "Будь ласка, зверніться:",
        "notice": "Цю відповідь створено за допомогою ШІ (ст. 50 Акта ЄС про штучний інтелект). "
                  "Визначальними є процитовані джерела.",
        "according": "Згідно з джерелом [{n}]:",
        "sources": "Джерела",
    },
    "ru": {
        "abstain": "У меня нет достоверной информации об этом в официальных источниках.",
        "contact": "Пожалуйста, обратитесь:",
        "notice": "Этот ответ создан с помощью ИИ (ст. 50 Регламента ЕС об ИИ). "
                  "Определяющими являются цитируемые источники.",
        "according": "Согласно источнику [{n}]:",
        "sources": "Источники",
    },
    "pl": {
        "abstain": "Nie mam wiarygodnych informacji na ten temat w oficjalnych źródłach.",
        "contact": "Prosimy o kontakt:",
        "notice": "Ta odpowiedź została wygenerowana przez SI (art. 50 unijnego aktu w sprawie SI). "
                  "Rozstrzygające są cytowane źródła.",
        "according": "Według źródła [{n}]:",
        "sources": "Źródła",
    },
    "hr": {
        "abstain": "Nemam pouzdane informacije o tome u službenim izvorima.",
        "contact": "Molimo obratite se:",
        "notice": "Ovaj je odgovor izrađen pomoću umjetne inteligencije (čl. 50. Akta EU-a o umjetnoj "
                  "inteligenciji). Mjerodavni su citirani izvori.",
        "according": "Prema izvoru [{n}]:",
        "sources": "Izvori",
    },
    "ro": {
        "abstain": "Nu am informații de încredere despre acest subiect în sursele oficiale.",
        "contact": "Vă rugăm să contactați:",
        "notice": "Acest răspuns a fost generat cu IA (art. 50 din Regulamentul UE privind IA). "
                  "Sursele citate sunt cele de referință.",
        "according": "Conform sursei [{n}]:",
        "sources": "Surse",
    },
    "it": {
        "abstain": "Non ho informazioni affidabili su questo argomento nelle fonti ufficiali.",
        "contact": "Si prega di contattare:",
        "notice": "Questa risposta è stata generata con l'IA (art. 50 del regolamento UE sull'IA). "
                  "Fanno fede le fonti citate.",
        "according": "Secondo la fonte [{n}]:",
        "sources": "Fonti",
    },
    "el": {
        "abstain": "Δεν έχω αξιόπιστες πληροφορίες για αυτό στις επίσημες πηγές.",
        "contact": "Παρακαλούμε απευθυνθείτε:",
        "notice": "Αυτή η απάντηση δημιουργήθηκε με τεχνητή νοημοσύνη (άρθρο 50 του Κανονισμού της ΕΕ για την ΤΝ). "
                  "Καθοριστικές είναι οι πηγές που παρατίθενται.",
        "according": "Σύμφωνα με την πηγή [{n}]:",
        "sources": "Πηγές",
    },
}


def text(lang: str, key: str, **kw: object) -> str:
    return TEXTS.get(lang, TEXTS["en"])[key].format(**kw)
