"""Word lists for understanding messages in English and Chinese (genre and kind words, stop words)."""

from __future__ import annotations

import re
from functools import lru_cache

from chatrec.reading.language import CJK

# canonical genre (as in catalogs) -> words that name it, in `understanding.norm` form
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "science fiction": ("science fiction", "sci fi", "scifi", "sf", "科幻"),
    "horror": (
        "horror",
        "horrors",
        "scary",
        "spooky",
        "creepy",
        "slasher",
        "slashers",
        "恐怖",
        "鬼片",
        "吓人",
        "吓到",
        "吓着",
        "被吓",
        "害怕",
        "噩梦",
    ),
    "thriller": ("thriller", "thrillers", "suspense", "惊悚"),
    "mystery": ("mystery", "mysteries", "whodunit", "detective", "悬疑", "推理", "侦探"),
    "comedy": ("comedy", "comedies", "funny", "hilarious", "喜剧", "搞笑"),
    "romance": ("romance", "romantic", "romances", "love story", "love stories", "爱情", "浪漫"),
    "drama": ("drama", "dramas", "剧情"),
    "action": ("action", "动作"),
    "adventure": ("adventure", "adventures", "冒险"),
    "animation": ("animation", "animated", "anime", "cartoon", "cartoons", "动画", "动漫"),
    "crime": ("crime", "gangster", "gangsters", "mafia", "犯罪", "黑帮"),
    "war": ("war", "wartime", "战争"),
    "western": ("western", "westerns", "cowboy", "cowboys", "西部"),
    "documentary": ("documentary", "documentaries", "纪录片"),
    "fantasy": ("fantasy", "奇幻", "魔幻"),
    "family": ("family friendly", "for kids", "kiddie", "kid stuff", "kids stuff", "family stuff", "家庭", "亲子"),
    "history": ("history", "historical", "历史", "古装"),
    "biography": ("biography", "biopic", "biopics", "传记"),
    "musical": ("musical", "musicals", "歌舞"),
    "music": ("music", "音乐"),
    "sports": ("sports", "sport", "体育", "运动"),
    "superhero": ("superhero", "superheroes", "super hero", "超级英雄"),
    "martial arts": ("martial arts", "kung fu", "功夫", "武打"),
    "wuxia": ("wuxia", "武侠"),
    "noir": ("noir", "黑色电影"),
    "classic": ("classic", "classics", "经典", "名著"),
    "poetry": ("poetry", "poems", "poem", "诗歌", "诗集"),
    "philosophy": ("philosophy", "哲学"),
    "memoir": ("memoir", "memoirs", "回忆录"),
    "essays": ("essays", "essay", "散文"),
    "science": ("popular science", "科普"),
    "children": ("children s", "childrens", "children", "童书", "儿童"),
    "historical fiction": ("historical fiction", "历史小说"),
    "satire": ("satire", "satirical", "讽刺"),
    "literary fiction": ("literary fiction", "literary", "纯文学"),
    "strategy": ("strategy", "strategic", "strategy games", "策略", "策略性"),
    "party": ("party", "party games", "聚会"),
    "cooperative": ("cooperative", "co op", "coop", "合作"),
    "card game": ("card game", "card games", "卡牌"),
    "abstract": ("abstract", "abstract strategy", "抽象", "下棋", "棋类"),
}

KIND_WORDS: dict[str, tuple[str, ...]] = {
    "movie": ("movie", "movies", "film", "films", "cinema", "flick", "flicks", "电影", "影片", "片子"),
    "book": ("book", "books", "novel", "novels", "novella", "novellas", "paperback", "小说", "书"),
    "series": (
        "series",
        "tv",
        "miniseries",
        "sitcom",
        "sitcoms",
        "tv show",
        "tv shows",
        "tv series",
        "电视剧",
        "剧集",
        "美剧",
        "韩剧",
        "日剧",
        "英剧",
        "港剧",
        "网剧",
        "连续剧",
        "追剧",
    ),
}
# kind words that need context: "动画片" is a film but "照片" is a photo; "a funny show" but not "show me"
KIND_PATTERNS: dict[str, re.Pattern[str]] = {
    "movie": re.compile(r"(?![照图名唱卡芯刀鸦相薯])[\u4e00-\u9fff]片(?![段刻])"),
    "book": re.compile(
        r"\b(?:a|something|anything|some)\s+(?:good\s+|light\s+|quick\s+)?(?:to\s+)?read\b|\breads\b|"
        r"\b(?:to|can|could|i'?d)\s+read\b(?!\s+(?:the|a)\s+(?:subtitles|reviews?))|本书|部书|读的|可以读|能读",
        re.I,
    ),
    "series": re.compile(
        r"\bshows?\b(?!\s+(?:me|us|him|her|them)\b)|(?![喜悲戏闹歌京话默编导])[\u4e00-\u9fff]剧(?!情|院|场|本)", re.I
    ),
}

EN_STOPWORDS = frozenset(
    """a about above after again against all also am an and any anything are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours out over own same she should so some something such than that the their
    them then there these they this those through to too under until up us very was we were what when where which
    while who whom why will with would you your yours yourself hi hello hey thanks thank please ok okay yes yeah
    like liked likes love loved loves enjoy enjoyed enjoys want wanted looking look find recommend recommendation
    recommendations suggest suggestion suggestions similar kind kinds sort type types good great nice best really
    watch watched watching read reading see seen saw think maybe lot lots get got give show tell one ones movie movies
    film films book books novel novels stuff things thing anything something everything else well much many fan
    fans favorite favourite""".split()
)

# removed from Chinese text to leave the words of interest ("我喜欢太空探索的电影" -> "太空探索")
ZH_FILLERS = (
    "有没有",
    "推荐",
    "喜欢",
    "爱看",
    "想看",
    "想要",
    "一些",
    "一部",
    "一本",
    "几部",
    "几本",
    "电影",
    "影片",
    "片子",
    "小说",
    "类型",
    "看过",
    "读过",
    "好看",
    "好的",
    "过",
    "什么",
    "给我",
    "任何",
    "更多",
    "非常",
    "特别",
    "我们",
    "我",
    "的",
    "类",
    "请",
    "吗",
    "呢",
    "吧",
    "了",
    "很",
    "看",
    "读",
    "部",
    "本",
    "再",
    "片",
    "书",
    "些",
)


GENRE_ZH: dict[str, str] = {g: next((w for w in words if CJK.search(w)), g) for g, words in GENRE_WORDS.items()}


def _fold(name: str) -> str:
    return " ".join(re.findall(r"\w+", name.lower().replace("'", "")))


# every genre word -> its canonical genre (the canonical names first, so no word can take one of them over)
_CANONICAL: dict[str, str] = {_fold(g): g for g in GENRE_WORDS}
for _genre, _words in GENRE_WORDS.items():
    for _word in _words:
        _CANONICAL.setdefault(_fold(_word), _genre)


@lru_cache(maxsize=8192)
def canonical_genre(name: str) -> str:
    """A catalog's genre in the form messages are read in ('sport' -> 'sports', 'Sci-Fi' -> 'science fiction',
    '科幻' -> 'science fiction'); a genre the word lists do not know is returned as it is."""
    return _CANONICAL.get(_fold(name), name)


# well-known creators' names in Chinese and in English: either finds the other's catalog spelling
PEOPLE_NAMES: tuple[tuple[str, str], ...] = (
    ("克里斯托弗·诺兰", "Christopher Nolan"),
    ("诺兰", "Christopher Nolan"),
    ("斯皮尔伯格", "Steven Spielberg"),
    ("库布里克", "Stanley Kubrick"),
    ("雷德利·斯科特", "Ridley Scott"),
    ("宫崎骏", "Hayao Miyazaki"),
    ("黑泽明", "Akira Kurosawa"),
    ("希区柯克", "Alfred Hitchcock"),
    ("昆汀", "Quentin Tarantino"),
    ("塔伦蒂诺", "Quentin Tarantino"),
    ("斯科塞斯", "Martin Scorsese"),
    ("科波拉", "Francis Ford Coppola"),
    ("卡梅隆", "James Cameron"),
    ("维伦纽瓦", "Denis Villeneuve"),
    ("维伦纽夫", "Denis Villeneuve"),
    ("奉俊昊", "Bong Joon-ho"),
    ("塔可夫斯基", "Andrei Tarkovsky"),
    ("伯格曼", "Ingmar Bergman"),
    ("卓别林", "Charlie Chaplin"),
    ("阿加莎·克里斯蒂", "Agatha Christie"),
    ("阿加莎", "Agatha Christie"),
    ("斯蒂芬·金", "Stephen King"),
    ("托尔金", "J. R. R. Tolkien"),
    ("奥威尔", "George Orwell"),
    ("加缪", "Albert Camus"),
    ("勒古恩", "Ursula K. Le Guin"),
    ("张艺谋", "Zhang Yimou"),
    ("王家卫", "Wong Kar-wai"),
    ("李安", "Ang Lee"),
    ("周星驰", "Stephen Chow"),
    ("金庸", "Jin Yong"),
    ("刘慈欣", "Liu Cixin"),
    ("吴宇森", "John Woo"),
    ("侯孝贤", "Hou Hsiao-hsien"),
    ("陈凯歌", "Chen Kaige"),
    ("姜文", "Jiang Wen"),
    ("贾樟柯", "Jia Zhangke"),
)
