/**
 * Realistic Polish data for demos and benchmarks: people's names (with their grammatical gender),
 * a bicycle shop's products, and message templates for client dialogs. Pure data and string
 * functions. Texts deliberately include emoji, quotes, semicolons, newlines and leading `= + - @`,
 * because the CSV export and the log's rendering must survive them.
 */

export const MALE_FIRST_NAMES = [
  'Adam',
  'Andrzej',
  'Antoni',
  'Artur',
  'Bartosz',
  'Dawid',
  'Dominik',
  'Filip',
  'Grzegorz',
  'Hubert',
  'Igor',
  'Jakub',
  'Jan',
  'Jerzy',
  'Józef',
  'Kacper',
  'Kamil',
  'Krzysztof',
  'Łukasz',
  'Maciej',
  'Marcin',
  'Marek',
  'Mateusz',
  'Michał',
  'Mikołaj',
  'Paweł',
  'Piotr',
  'Przemysław',
  'Rafał',
  'Ryszard',
  'Sebastian',
  'Stanisław',
  'Szymon',
  'Tadeusz',
  'Tomasz',
  'Wiktor',
  'Wojciech',
  'Zbigniew',
] as const;

export const FEMALE_FIRST_NAMES = [
  'Agnieszka',
  'Aleksandra',
  'Alicja',
  'Anna',
  'Barbara',
  'Beata',
  'Bożena',
  'Danuta',
  'Dorota',
  'Elżbieta',
  'Emilia',
  'Ewa',
  'Gabriela',
  'Grażyna',
  'Halina',
  'Hanna',
  'Iwona',
  'Jadwiga',
  'Joanna',
  'Julia',
  'Justyna',
  'Karolina',
  'Katarzyna',
  'Kinga',
  'Krystyna',
  'Lena',
  'Magdalena',
  'Małgorzata',
  'Maria',
  'Marta',
  'Monika',
  'Natalia',
  'Oliwia',
  'Patrycja',
  'Paulina',
  'Teresa',
  'Urszula',
  'Weronika',
  'Zofia',
  'Żaneta',
] as const;

/** Everyday short forms, as people name themselves in messengers. */
export const DIMINUTIVES: Readonly<Record<string, string>> = {
  Aleksandra: 'Ola',
  Agnieszka: 'Aga',
  Anna: 'Ania',
  Barbara: 'Basia',
  Joanna: 'Asia',
  Katarzyna: 'Kasia',
  Magdalena: 'Madzia',
  Małgorzata: 'Gosia',
  Elżbieta: 'Ela',
  Dorota: 'Dorota',
  Bartosz: 'Bartek',
  Jakub: 'Kuba',
  Tomasz: 'Tomek',
  Krzysztof: 'Krzysiek',
  Michał: 'Michał',
  Piotr: 'Piotrek',
  Wojciech: 'Wojtek',
  Łukasz: 'Łukasz',
  Mateusz: 'Mateusz',
  Maciej: 'Maciek',
  Paweł: 'Paweł',
  Zofia: 'Zosia',
  Weronika: 'Wera',
  Natalia: 'Natka',
  Przemysław: 'Przemek',
  Stanisław: 'Staszek',
  Grzegorz: 'Grzesiek',
};

/** Surnames as [masculine, feminine]; most -ski/-cki/-dzki names change with gender, the rest do not. */
export const SURNAMES: readonly (readonly [string, string])[] = [
  ['Nowak', 'Nowak'],
  ['Kowalski', 'Kowalska'],
  ['Wiśniewski', 'Wiśniewska'],
  ['Wójcik', 'Wójcik'],
  ['Kowalczyk', 'Kowalczyk'],
  ['Kamiński', 'Kamińska'],
  ['Lewandowski', 'Lewandowska'],
  ['Zieliński', 'Zielińska'],
  ['Szymański', 'Szymańska'],
  ['Woźniak', 'Woźniak'],
  ['Dąbrowski', 'Dąbrowska'],
  ['Kozłowski', 'Kozłowska'],
  ['Jankowski', 'Jankowska'],
  ['Mazur', 'Mazur'],
  ['Kwiatkowski', 'Kwiatkowska'],
  ['Wojciechowski', 'Wojciechowska'],
  ['Krawczyk', 'Krawczyk'],
  ['Kaczmarek', 'Kaczmarek'],
  ['Piotrowski', 'Piotrowska'],
  ['Grabowski', 'Grabowska'],
  ['Zając', 'Zając'],
  ['Pawłowski', 'Pawłowska'],
  ['Michalski', 'Michalska'],
  ['Król', 'Król'],
  ['Wieczorek', 'Wieczorek'],
  ['Jabłoński', 'Jabłońska'],
  ['Wróbel', 'Wróbel'],
  ['Nowakowski', 'Nowakowska'],
  ['Majewski', 'Majewska'],
  ['Olszewski', 'Olszewska'],
  ['Stępień', 'Stępień'],
  ['Malinowski', 'Malinowska'],
  ['Jaworski', 'Jaworska'],
  ['Adamczyk', 'Adamczyk'],
  ['Dudek', 'Dudek'],
  ['Nowicki', 'Nowicka'],
  ['Pawlak', 'Pawlak'],
  ['Górski', 'Górska'],
  ['Witkowski', 'Witkowska'],
  ['Walczak', 'Walczak'],
  ['Sikora', 'Sikora'],
  ['Baran', 'Baran'],
  ['Rutkowski', 'Rutkowska'],
  ['Michalak', 'Michalak'],
  ['Szewczyk', 'Szewczyk'],
  ['Ostrowski', 'Ostrowska'],
  ['Tomaszewski', 'Tomaszewska'],
  ['Pietrzak', 'Pietrzak'],
  ['Marciniak', 'Marciniak'],
  ['Wróblewski', 'Wróblewska'],
  ['Zalewski', 'Zalewska'],
  ['Jakubowski', 'Jakubowska'],
  ['Jasiński', 'Jasińska'],
  ['Zawadzki', 'Zawadzka'],
  ['Sadowski', 'Sadowska'],
  ['Bąk', 'Bąk'],
  ['Chmielewski', 'Chmielewska'],
  ['Włodarczyk', 'Włodarczyk'],
  ['Borkowski', 'Borkowska'],
  ['Czarnecki', 'Czarnecka'],
  ['Sawicki', 'Sawicka'],
  ['Sokołowski', 'Sokołowska'],
  ['Urbański', 'Urbańska'],
  ['Kubiak', 'Kubiak'],
  ['Maciejewski', 'Maciejewska'],
  ['Szczepański', 'Szczepańska'],
  ['Kucharski', 'Kucharska'],
  ['Wilk', 'Wilk'],
  ['Kalinowski', 'Kalinowska'],
  ['Lis', 'Lis'],
  ['Mazurek', 'Mazurek'],
  ['Wysocki', 'Wysocka'],
  ['Adamski', 'Adamska'],
  ['Kaźmierczak', 'Kaźmierczak'],
  ['Wasilewski', 'Wasilewska'],
  ['Sobczak', 'Sobczak'],
  ['Czerwiński', 'Czerwińska'],
  ['Andrzejewski', 'Andrzejewska'],
  ['Cieślak', 'Cieślak'],
  ['Głowacki', 'Głowacka'],
  ['Zakrzewski', 'Zakrzewska'],
  ['Kołodziej', 'Kołodziej'],
  ['Sikorski', 'Sikorska'],
  ['Krajewski', 'Krajewska'],
  ['Gajewski', 'Gajewska'],
  ['Szymczak', 'Szymczak'],
  ['Szulc', 'Szulc'],
  ['Baranowski', 'Baranowska'],
  ['Laskowski', 'Laskowska'],
  ['Brzeziński', 'Brzezińska'],
  ['Makowski', 'Makowska'],
  ['Ziółkowski', 'Ziółkowska'],
  ['Przybylski', 'Przybylska'],
  ['Żak', 'Żak'],
  ['Łuczak', 'Łuczak'],
  ['Gołębiowski', 'Gołębiowska'],
  ['Śliwiński', 'Śliwińska'],
  ['Dziedzic', 'Dziedzic'],
  ['Kurek', 'Kurek'],
  ['Błaszczyk', 'Błaszczyk'],
];

/** ASCII form of a Polish string (for e-mail addresses and usernames): diacritics dropped, ł → l. */
export function asciiFold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .replace(/ł/g, 'l')
    .replace(/Ł/g, 'L');
}

/** Cities as [nominative, genitive ("do Krakowa"), locative with its preposition ("w Krakowie")]. */
export const CITIES: readonly (readonly [string, string, string])[] = [
  ['Warszawa', 'Warszawy', 'w Warszawie'],
  ['Kraków', 'Krakowa', 'w Krakowie'],
  ['Łódź', 'Łodzi', 'w Łodzi'],
  ['Wrocław', 'Wrocławia', 'we Wrocławiu'],
  ['Poznań', 'Poznania', 'w Poznaniu'],
  ['Gdańsk', 'Gdańska', 'w Gdańsku'],
  ['Szczecin', 'Szczecina', 'w Szczecinie'],
  ['Bydgoszcz', 'Bydgoszczy', 'w Bydgoszczy'],
  ['Lublin', 'Lublina', 'w Lublinie'],
  ['Białystok', 'Białegostoku', 'w Białymstoku'],
  ['Katowice', 'Katowic', 'w Katowicach'],
  ['Gdynia', 'Gdyni', 'w Gdyni'],
  ['Częstochowa', 'Częstochowy', 'w Częstochowie'],
  ['Radom', 'Radomia', 'w Radomiu'],
  ['Toruń', 'Torunia', 'w Toruniu'],
  ['Rzeszów', 'Rzeszowa', 'w Rzeszowie'],
  ['Kielce', 'Kielc', 'w Kielcach'],
  ['Olsztyn', 'Olsztyna', 'w Olsztynie'],
  ['Opole', 'Opola', 'w Opolu'],
  ['Zielona Góra', 'Zielonej Góry', 'w Zielonej Górze'],
];

export const PRODUCTS = [
  'Kross Hexagon 6.0',
  'Kross Level 2.0',
  'Kross Trans Hybrid 3.0',
  'Merida Big.Nine 300',
  'Trek Marlin 7',
  'Giant Talon 2',
  'Cube Aim Race',
  'Romet Wagant 2',
  'Romet Rambler R9.2',
  'Specialized Rockhopper',
  'Orbea Onna 50',
  'Unibike Fusion',
  'Kellys Spider 10',
  'Le Grand Kent 1',
  'Ecobike X-Cross',
  'Cannondale Trail 6',
  'kask Uvex i-vo',
  'lampka Lezyne Micro Drive',
  'licznik Sigma BC 8.0',
  'opony Schwalbe Marathon Plus 28"',
  'zapięcie Kryptonite Evolution',
  'fotelik Hamax Caress',
  'sakwy Crosso Dry Big',
  'pompka Topeak Joe Blow',
] as const;

export const DAYS = [
  'jutro',
  'pojutrze',
  'w poniedziałek',
  'we wtorek',
  'w środę',
  'w czwartek',
  'w piątek',
  'w sobotę',
] as const;

export const HOURS = ['9:00', '10:30', '12:00', '13:15', '15:00', '16:30', '17:45'] as const;
export const SIZES = ['XS', 'S', 'M', 'L', 'XL', '17"', '19"', '21"'] as const;

/** A guess at grammatical gender from a first name (Polish feminine names end in -a; Kuba does not count). */
export function isFemaleName(first: string): boolean {
  if ((FEMALE_FIRST_NAMES as readonly string[]).includes(first)) return true;
  if ((MALE_FIRST_NAMES as readonly string[]).includes(first)) return false;
  return /a$/i.test(first) && !/^(kuba|barnaba|bonawentura)$/i.test(first);
}

/**
 * Slots a template may use (`{product}`); the seed fills them per dialog so that one conversation
 * stays consistent. A template may also say `[masculine/feminine]` where Polish verbs agree with
 * the writer's gender ("wysłałem/wysłałam").
 */
export interface TemplateSlots {
  product: string;
  order: string;
  price: string;
  day: string;
  hour: string;
  /** Nominative: "Kraków". */
  city: string;
  /** Genitive: "do {cityGen}" → "do Krakowa". */
  cityGen: string;
  /** Locative with its preposition: "{cityIn}" → "w Krakowie", "we Wrocławiu". */
  cityIn: string;
  size: string;
  tracking: string;
  manager: string;
  nextManager: string;
}
type SlotName = keyof TemplateSlots;

/**
 * A template pre-split into literal text (even positions) and tokens (odd positions): a slot name,
 * or GENDER + masculine + GENDER + feminine. Rendering is plain concatenation.
 */
export type Template = readonly string[];
const GENDER = '\u0001';

export function compileTemplate(text: string): Template {
  const parts: string[] = [];
  const re = /\{(\w+)\}|\[([^\]/]*)\/([^\]]*)\]/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    parts.push(text.slice(last, m.index));
    parts.push(m[1] !== undefined ? m[1] : `${GENDER}${m[2]}${GENDER}${m[3]}`);
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

export function renderTemplate(t: Template, slots: TemplateSlots, female = false): string {
  let s = t[0] as string;
  for (let i = 1; i < t.length; i += 2) {
    const token = t[i] as string;
    if (token.charCodeAt(0) === 1) {
      const cut = token.indexOf(GENDER, 1);
      s += female ? token.slice(cut + 1) : token.slice(1, cut);
    } else {
      s += slots[token as SlotName];
    }
    s += t[i + 1] as string;
  }
  return s;
}

const compileAll = (texts: readonly string[]): Template[] => texts.map(compileTemplate);

/**
 * A subject clients write about: opening questions with their first answers, then follow-up
 * questions with theirs.
 */
export interface Topic {
  name: string;
  clientOpen: Template[];
  managerFirst: Template[];
  /** `clientFollow[i]` is answered by `managerFollow[i]`. */
  clientFollow: Template[];
  managerFollow: Template[];
}

function topic(
  name: string,
  opening: [client: string, manager: string][],
  follow: [client: string, manager: string][],
): Topic {
  return {
    name,
    clientOpen: compileAll(opening.map((p) => p[0])),
    managerFirst: compileAll(opening.map((p) => p[1])),
    clientFollow: compileAll(follow.map((p) => p[0])),
    managerFollow: compileAll(follow.map((p) => p[1])),
  };
}

export const TOPICS: readonly Topic[] = [
  topic(
    'order-status',
    [
      [
        'Dzień dobry, [chciałem/chciałam] zapytać, co z moim zamówieniem {order}? Miało być wysłane wczoraj.',
        'Dzień dobry, z tej strony {manager}. Już sprawdzam zamówienie {order}, proszę o chwilę cierpliwości.',
      ],
      [
        'Hej, [zamówiłem/zamówiłam] {product} tydzień temu i nadal nie mam maila z numerem przesyłki 😕',
        'Dzień dobry! Zamówienie zostało przekazane kurierowi dziś rano, numer przesyłki: {tracking}.',
      ],
      [
        'Dzień dobry, kiedy zostanie wysłane zamówienie nr {order}?',
        'Dzień dobry, przepraszamy za opóźnienie; {product} dotarł do nas z hurtowni dopiero wczoraj. Wysyłka {day}.',
      ],
      [
        'Status zamówienia {order} od 3 dni „w realizacji” — czy coś jest nie tak?',
        'Dzień dobry, wszystko w porządku: rower przechodzi jeszcze przedsprzedażny przegląd. Wysyłka {day}.',
      ],
      [
        'Dzień dobry. Zamówienie {order}; płatność przeszła, a w panelu nadal "oczekuje na płatność".',
        'Dzień dobry, {manager} z tej strony 🙂 Płatność widzę, status już [poprawiłem/poprawiłam] — zamówienie idzie do pakowania.',
      ],
    ],
    [
      [
        'A czy da się jeszcze zmienić adres dostawy? Będę {day} w pracy.',
        'Tak, [zmieniłem/zmieniłam] adres w systemie. Kurier dostanie aktualizację w ciągu godziny.',
      ],
      [
        'Ok, a kurier zadzwoni przed dostawą?',
        'Kurier DPD wysyła SMS rano w dniu doręczenia; paczkę można też śledzić tutaj: https://tracktrace.dpd.com.pl/parcelDetails?p1={tracking}',
      ],
      [
        'Mogę odebrać osobiście w sklepie {cityIn}?',
        'Oczywiście, odbiór osobisty: ul. Rowerowa 12, {city}; pn–pt 10–18, sob 10–14.',
      ],
      [
        'A jeśli mnie nie będzie w domu, to kurier zostawi awizo?',
        'Kurier podejmie drugą próbę następnego dnia roboczego; można też przekierować paczkę w aplikacji DPD.',
      ],
      ['Dobrze, to czekam. Dzięki!', 'Dziękujemy za cierpliwość 🙂'],
    ],
  ),
  topic(
    'availability',
    [
      [
        'Dzień dobry, czy {product} jest dostępny w rozmiarze {size}?',
        'Dzień dobry! Tak, {product} w rozmiarze {size} mamy na magazynie, wysyłka w 24 h.',
      ],
      [
        'Ile kosztuje {product}? Na stronie widzę {price}, a w sklepie ktoś mówił o innej cenie.',
        'Dzień dobry, aktualna cena to {price}; cena w salonie może różnić się o koszt montażu.',
      ],
      [
        'Czy będzie jeszcze promocja na {product}? 🙂',
        'Dzień dobry! Promocje planujemy {day}; mogę zapisać numer i dać znać, gdy cena spadnie.',
      ],
      [
        'Hej! Jest szansa na rabat przy zakupie dwóch rowerów ([dla mnie i żony/dla mnie i męża])?',
        'Dzień dobry, przy zakupie dwóch rowerów damy 5% rabatu; kod: DWA-ROWERY-5',
      ],
      [
        'Dzień dobry,\nszukam roweru dla syna (12 lat, 150 cm).\nCo Państwo polecają do 2000 zł?',
        'Dzień dobry, z tej strony {manager}. Polecam {product} — świetny stosunek ceny do jakości, teraz {price}.',
      ],
    ],
    [
      ['A jaki jest czas dostawy do {cityGen}?', 'Do {cityGen} zwykle 1–2 dni robocze.'],
      [
        'Czy w cenie jest montaż i pierwszy przegląd?',
        'Tak, w cenie jest pełny montaż i darmowy przegląd gwarancyjny po 200 km.',
      ],
      ['Można go zarezerwować? Odbiorę {day}.', 'Jasne, rezerwacja do odbioru {day}; proszę podać imię i nazwisko.'],
      [
        'A jest w innym kolorze? Czarny mat by mi pasował.',
        'Czarny mat jest w rozmiarach S i M; w {size} tylko grafit.',
      ],
      ['Ok, to biorę 👍', 'Podsumowując:\n1) {product} — {price}\n2) montaż gratis\n3) wysyłka {day}'],
    ],
  ),
  topic(
    'delivery',
    [
      [
        'Ile kosztuje dostawa roweru kurierem do {cityGen}?',
        'Dzień dobry! Dostawa kurierem to 99 zł, przy zamówieniu powyżej 3 000 zł — gratis.',
      ],
      [
        'Czy rower przychodzi złożony, czy trzeba go samemu skręcać?',
        'Dzień dobry, rower wysyłamy w 95% złożony; trzeba tylko zamontować pedały i ustawić kierownicę. Klucz jest w zestawie 🔧',
      ],
      [
        'Jaki jest koszt wysyłki akcesoriów do paczkomatu?',
        'Dzień dobry, akcesoria wysyłamy InPostem (12,99 zł); rowery tylko kurierem.',
      ],
      [
        'Dzień dobry, wysyłacie też za granicę? Mieszkam w Niemczech, ale mam adres {cityIn}.',
        'Dzień dobry, wysyłamy tylko na terenie Polski; na adres {cityIn} oczywiście tak.',
      ],
    ],
    [
      ['A ile trwa dostawa?', 'Zwykle 1–2 dni robocze od wysyłki.'],
      [
        'Czy kurier wniesie na 3. piętro?',
        'Kurier doręcza pod drzwi; przy dużych paczkach warto zadzwonić do niego rano.',
      ],
      [
        'Mogę zapłacić przy odbiorze?',
        'Tak, pobranie jest dostępne (+9 zł); można też zapłacić Blikiem przy składaniu zamówienia.',
      ],
      ['Super, dziękuję za info', 'Nie ma za co!'],
    ],
  ),
  topic(
    'return',
    [
      [
        '[Chciałbym/Chciałabym] zwrócić kask, rozmiar nie pasuje. Jak to zrobić?',
        'Dzień dobry, zwrot w ciągu 14 dni: proszę wypełnić formularz https://sklep-rowerowy.pl/zwroty i odesłać towar na adres: Sklep Rowerowy, ul. Rowerowa 12, 30-001 Kraków.',
      ],
      [
        'Dzień dobry, chcę odstąpić od umowy — zamówienie {order}. Rower jest nieużywany.',
        'Dzień dobry, oczywiście. Pieniądze zwracamy w ciągu 14 dni od otrzymania paczki, na konto, z którego była płatność.',
      ],
      [
        'Czy mogę wymienić {product} na rozmiar {size}?',
        'Dzień dobry! Wymiana jest możliwa; {size} mamy na stanie, mogę od razu zarezerwować.',
      ],
    ],
    [
      [
        'A kto płaci za odesłanie?',
        'Koszt odesłania pokrywa kupujący; przy wymianie rozmiaru wysyłka nowego produktu jest na nasz koszt.',
      ],
      ['Czy muszę mieć oryginalne pudełko?', 'Nie musi być oryginalne, ważne, żeby towar był dobrze zabezpieczony.'],
      [
        '[Wysłałem/Wysłałam] dziś, numer nadania {tracking}',
        'Dziękuję, paczka jest już w drodze. Dam znać, gdy dotrze i zlecimy zwrot środków.',
      ],
      ['Ok, formularz wypełniony.', 'Dziękuję, formularz widzę w systemie.'],
    ],
  ),
  topic(
    'complaint',
    [
      [
        'Dzień dobry, po dwóch tygodniach pękła mi szprycha w tylnym kole. To chyba nie jest normalne?',
        'Bardzo przepraszamy! Proszę o zdjęcia koła i numer zamówienia; zgłoszenie reklamacyjne założę od razu.',
      ],
      [
        'Przerzutka w {product} skacze na 3 biegach; [regulowałem/regulowałam], ale nic nie daje.',
        'Dzień dobry, to najpewniej kwestia naciągnięcia linki po pierwszych kilometrach; zapraszamy na bezpłatną regulację.',
      ],
      [
        'Przyszedł rower z porysowaną ramą 😡 Zdjęcia [wysłałem/wysłałam] mailem.',
        'Bardzo przepraszamy! Zdjęcia mam; [przyjąłem/przyjęłam] reklamację nr REK/{order}. Kurier odbierze rower {day} między 9 a 17.',
      ],
      [
        '=== REKLAMACJA === zamówienie {order}: hamulec tylny nie działa!',
        'Dzień dobry, [przyjąłem/przyjęłam] zgłoszenie. Proszę nie jeździć na tym rowerze; serwis sprawdzi go {day}.',
      ],
    ],
    [
      ['Ile potrwa rozpatrzenie?', 'Reklamację rozpatrujemy do 14 dni, zwykle szybciej.'],
      [
        'Zdjęcia już [wysłałem/wysłałam]. Co dalej?',
        'Zdjęcia dotarły, dziękuję. Serwis potwierdził wadę — wymienimy część na nową.',
      ],
      [
        '[Wolałbym/Wolałabym] nowy rower zamiast naprawy.',
        'Rozumiem; jeśli naprawa się nie uda, wymienimy rower na nowy albo zwrócimy pieniądze.',
      ],
      ['Dobrze, przywiozę {day}.', 'Zapraszamy; serwis jest czynny pn–pt 8–18.'],
    ],
  ),
  topic(
    'service',
    [
      [
        'Czy mogę umówić przegląd roweru {day}?',
        'Dzień dobry! Wolne terminy: {day} o {hour} albo w sobotę o 10:00. Który pasuje?',
      ],
      [
        'Ile kosztuje wymiana łańcucha i kasety?',
        'Dzień dobry, wymiana łańcucha i kasety to od 180 zł z częściami; przegląd podstawowy 129 zł, pełny 249 zł.',
      ],
      [
        'Hamulce tarczowe piszczą, da się to zrobić od ręki?',
        'Dzień dobry, piszczące tarcze to zwykle zabrudzone klocki. Zapraszam {day}, zajmie to ok. 30 minut.',
      ],
      [
        'Dzień dobry; przegląd przed sezonem — jakie macie terminy?',
        'Dzień dobry! Najbliższy wolny termin: {day} o {hour}.',
      ],
    ],
    [
      [
        'Pasuje {day} o {hour}',
        '[Zapisałem/Zapisałam] na przegląd: {day}, godz. {hour}. Przypomnimy SMS-em dzień wcześniej.',
      ],
      ['To poproszę pełny przegląd.', 'Dobrze, pełny przegląd — 249 zł.'],
      ['Ile to potrwa? Potrzebuję roweru do pracy.', 'Pełny przegląd trwa 1–2 dni robocze.'],
      [
        'Czy mogę zostawić rower wcześniej rano?',
        'Tak, otwieramy o 8:00; proszę zostawić rower w serwisie na parterze.',
      ],
    ],
  ),
  topic(
    'sizing',
    [
      [
        'Mam 178 cm wzrostu i przekrok 84 cm — jaki rozmiar ramy?',
        'Przy 178 cm polecam ramę M (19"); przy dłuższych nogach L też będzie dobra. Najlepiej przyjechać na jazdę próbną 🙂',
      ],
      [
        'Jaki rozmiar {product} dla córki? Ma 152 cm.',
        'Dla 152 cm najlepsza będzie rama XS (14") albo rower na kołach 26".',
      ],
      [
        'Rozmiar M czy L? Jestem pomiędzy (183 cm).',
        'Przy 183 cm raczej L; M będzie zwinniejsza, ale pozycja bardziej pochylona.',
      ],
    ],
    [
      ['A da się przymierzyć w sklepie {cityIn}?', 'Tak, wszystkie rozmiary są w salonie; zapraszamy pn–pt 10–18.'],
      [
        'Dzięki, to wezmę {size}.',
        'Świetny wybór! Link do zamówienia: https://sklep-rowerowy.pl/koszyk?add=12345&size={size}',
      ],
      ['Rozumiem; jeszcze się zastanowię.', 'Jasne, gdyby były pytania — proszę pisać.'],
    ],
  ),
  topic(
    'invoice',
    [
      [
        'Potrzebuję faktury na firmę do zamówienia {order}; NIP: 676-123-45-67',
        'Dzień dobry, proszę jeszcze o pełną nazwę firmy i adres; NIP mam.',
      ],
      ['Czy faktura przyjdzie mailem?', 'Dzień dobry, tak: faktura VAT jest wysyłana na adres e-mail z zamówienia.'],
      [
        'Dzień dobry, na fakturze jest zły adres; trzeba ją skorygować.',
        'Dzień dobry, korektę wystawię dziś; proszę podać poprawny adres.',
      ],
    ],
    [
      [
        'Firma: "Rowerex" Sp. z o.o., ul. Długa 5; {city}',
        'Dziękuję, faktura gotowa — wysłana na e-mail z zamówienia.',
      ],
      ['Nie widzę jej w skrzynce.', 'Proszę sprawdzić folder „Spam”; wysyłamy z adresu faktury@sklep-rowerowy.pl.'],
      ['Dziękuję, dotarła.', 'Świetnie, dziękuję za informację.'],
    ],
  ),
  topic(
    'payment',
    [
      [
        'Czy można kupić {product} na raty 0%?',
        'Dzień dobry, tak: raty 0% na 10 miesięcy przy zakupie powyżej 1 000 zł; wniosek wypełnia się online.',
      ],
      [
        'Jak działa płatność Blikiem przy odbiorze?',
        'Przy odbiorze osobistym można zapłacić kartą, Blikiem lub gotówką.',
      ],
      [
        'Przelew [wysłałem/wysłałam] 2 razy przez pomyłkę! Zamówienie {order}',
        'Dzień dobry, widzę dwie wpłaty; nadwyżkę zwrócimy na konto w ciągu 2 dni roboczych.',
      ],
    ],
    [
      ['A ile trwa decyzja kredytowa?', 'Decyzja przychodzi zwykle w ciągu 15 minut.'],
      ['A czy mogę spłacić raty wcześniej?', 'Tak, wcześniejsza spłata jest bez dodatkowych kosztów.'],
      ['Zwrot już dotarł, dzięki!', 'Nie ma za co 🙂'],
    ],
  ),
];

/** What a client adds right after the first message. */
export const CLIENT_ADDONS: readonly Template[] = compileAll([
  'Pozdrawiam',
  'Z góry dziękuję!',
  'To dość pilne.',
  'Piszę z telefonu, sorry za literówki',
  'Numer zamówienia: {order}',
]);

/** What a manager adds right after an answer. */
export const MANAGER_ADDONS: readonly Template[] = compileAll([
  'Gdyby coś było niejasne — proszę pytać.',
  'Proszę dać znać, czy to pomogło.',
  'Pozdrawiam, {manager}',
  'Regulamin sklepu: https://sklep-rowerowy.pl/regulamin',
]);

export const CLIENT_FILLERS: readonly Template[] = compileAll([
  'Jeszcze jedno pytanie…',
  'Czy mogę zadzwonić w tej sprawie?',
  'Ok',
  'Dobrze, rozumiem.',
  '?',
  '+1, dzięki',
  '-10% to dalej aktualne?',
  '@{manager} dziękuję!',
  'Aha, i jeszcze: czy sklep {cityIn} jest czynny w sobotę?',
]);

export const MANAGER_FILLERS: readonly Template[] = compileAll([
  'Sprawdzam, proszę o chwilę.',
  'Rozumiem; przekażę to do działu logistyki i wrócę z odpowiedzią.',
  'Tak, oczywiście.',
  'W sobotę jesteśmy otwarci 10–14.',
  'Tak, proszę dzwonić: +48 12 345 67 89 (pn–pt 8–20).',
]);

export const CLIENT_THANKS: readonly Template[] = compileAll([
  'Dziękuję, to wszystko 🙂',
  'Dzięki, pozdrawiam!',
  'Super, dziękuję za szybką odpowiedź!',
  '"Dziękuję" to za mało — świetna obsługa! 👏',
  'Ok, dzięki 👍',
  '=) dzięki',
]);

export const MANAGER_CLOSINGS: readonly Template[] = compileAll([
  'Dziękujemy za kontakt i życzymy udanych tras! 🚲',
  'W razie pytań jesteśmy do dyspozycji. Miłego dnia!',
  'Pozdrawiam serdecznie,\n{manager}\nSklep Rowerowy',
  'Czy mogę jeszcze w czymś pomóc?',
  'Dziękuję za cierpliwość; gdyby coś jeszcze — proszę pisać tutaj.',
]);

export const CLIENT_NUDGES: readonly Template[] = compileAll([
  'Halo? Czy ktoś tu jest?',
  'Proszę o odpowiedź, to pilne!',
  '???',
]);

export const AUTO_REPLY_WORKING = compileTemplate('Dziękujemy za wiadomość! Odpowiemy najszybciej, jak to możliwe.');
export const AUTO_REPLY_CLOSED = compileTemplate(
  'Dzień dobry! Pracujemy pn–pt 8:00–20:00 i w soboty 9:00–15:00. Odpowiemy zaraz po otwarciu 🙂',
);

export const TRANSFER_NOTE = compileTemplate('Dialog przekazany: {manager} → {nextManager}');

/** Messages sent from the outbound-only number (the client cannot answer those). */
export const OUTBOUND_ONLY_SMS: readonly Template[] = compileAll([
  'Sklep Rowerowy: zamówienie {order} jest gotowe do odbioru w salonie {cityIn}. Zapraszamy pn-pt 10-18, sob 10-14.',
  'Przypomnienie: przegląd roweru {day} o {hour}. Odwołanie: tel. 12 345 67 89. Nie odpowiadaj na tę wiadomość.',
  'Twoja paczka {tracking} została nadana. Śledzenie: https://sklep-rowerowy.pl/s/{order}',
  'Sklep Rowerowy: -15% na kaski i lampki do niedzieli! Kod: JESIEN15. Rezygnacja: STOP na 80 123.',
  'Zwrot środków za zamówienie {order} został zlecony; pieniądze dotrą w ciągu 2 dni roboczych.',
]);

export const CLOSE_REASONS = [
  'Sprawa załatwiona',
  'Zamówienie złożone',
  'Klient nie odpowiada',
  'Przekazano do serwisu',
  'Reklamacja przyjęta',
  'Duplikat zgłoszenia',
] as const;
