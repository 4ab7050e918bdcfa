"""The demo school's fixed content: staff, catalog, names. Amounts are in fen."""

from dataclasses import dataclass
from decimal import Decimal

from feedesk.core.permissions import Role

ORGANIZATION_NAME = "启明教育培训中心"
ORGANIZATION_SLUG = "demo"
DEMO_PASSWORD = "demo-pass-2026"
GUARDIAN_PHONE = "13800000001"
DEFAULT_STUDENTS = 320
MIN_STUDENTS = 24

CAMPUSES = [
    ("haidian", "海淀校区", "北京市海淀区中关村大街 27 号 3 层"),
    ("chaoyang", "朝阳校区", "北京市朝阳区望京街 9 号 B 座 2 层"),
]


@dataclass(frozen=True)
class StaffMember:
    username: str
    role: str
    display_name: str
    language: str = "zh-hans"
    campus: str = ""  # campus code the member is limited to; empty means every campus


# The first six are the logins the README lists, one per role.
STAFF = [
    StaffMember("principal", Role.PRINCIPAL, "王建国"),
    StaffMember("finance", Role.FINANCE, "李秀英", language="en"),
    StaffMember("cashier", Role.CASHIER, "张丽"),
    StaffMember("adviser", Role.ADVISER, "刘洋"),
    StaffMember("headteacher", Role.HEAD_TEACHER, "陈静"),
    StaffMember("teacher", Role.INSTRUCTOR, "杨帆"),
    StaffMember("cashier2", Role.CASHIER, "赵敏", campus="chaoyang"),
    StaffMember("adviser2", Role.ADVISER, "孙浩", campus="chaoyang"),
    StaffMember("headteacher2", Role.HEAD_TEACHER, "周婷", campus="chaoyang"),
    StaffMember("teacher2", Role.INSTRUCTOR, "吴磊"),
    StaffMember("teacher3", Role.INSTRUCTOR, "郑雅文", language="en"),
    StaffMember("teacher4", Role.INSTRUCTOR, "林晓峰"),
    StaffMember("teacher5", Role.INSTRUCTOR, "何佳琪"),
    StaffMember("teacher6", Role.INSTRUCTOR, "高明远"),
    StaffMember("teacher7", Role.INSTRUCTOR, "罗欣然"),
    StaffMember("teacher8", Role.INSTRUCTOR, "梁书豪", language="en"),
]

# (code, name, English name)
SUBJECTS = [
    ("math", "数学", "Maths"),
    ("english", "英语", "English"),
    ("piano", "钢琴", "Piano"),
    ("art", "美术", "Art"),
    ("dance", "舞蹈", "Dance"),
    ("coding", "编程", "Coding"),
    ("calligraphy", "书法", "Calligraphy"),
]


@dataclass(frozen=True)
class CourseSpec:
    key: str
    subject: str
    name: str
    name_en: str
    price_model: str
    lesson_price: int = 0
    package_hours: Decimal = Decimal(0)
    package_price: int = 0
    gift_hours: Decimal = Decimal(0)
    term_fee: int = 0
    term_hours: Decimal = Decimal(0)
    materials_fee: int = 0
    registration_fee: int = 0


COURSES = [
    CourseSpec(
        "olympiad",
        "math",
        "小学奥数 48 课时",
        "Primary olympiad maths, 48 hours",
        "package",
        package_hours=Decimal(48),
        package_price=576_000,
        gift_hours=Decimal(4),
        materials_fee=12_000,
        registration_fee=5_000,
    ),
    CourseSpec(
        "math-middle",
        "math",
        "初中数学同步提高",
        "Middle-school maths, term",
        "term",
        term_fee=480_000,
        term_hours=Decimal(40),
        materials_fee=15_000,
        registration_fee=5_000,
    ),
    CourseSpec(
        "math-small",
        "math",
        "数学精品小班（按次）",
        "Maths small group, per lesson",
        "per_lesson",
        lesson_price=22_000,
    ),
    CourseSpec(
        "ket",
        "english",
        "KET 备考 40 课时",
        "KET preparation, 40 hours",
        "package",
        package_hours=Decimal(40),
        package_price=440_000,
        gift_hours=Decimal(2),
        materials_fee=28_000,
        registration_fee=5_000,
    ),
    CourseSpec(
        "nce",
        "english",
        "新概念英语第一册",
        "New Concept English 1, term",
        "term",
        term_fee=360_000,
        term_hours=Decimal(32),
        materials_fee=12_000,
    ),
    CourseSpec(
        "speaking",
        "english",
        "外教口语（按次）",
        "Speaking with a native teacher, per lesson",
        "per_lesson",
        lesson_price=26_000,
    ),
    CourseSpec(
        "piano",
        "piano",
        "钢琴小组课 24 课时",
        "Piano small group, 24 hours",
        "package",
        package_hours=Decimal(24),
        package_price=336_000,
        gift_hours=Decimal(2),
        materials_fee=9_000,
        registration_fee=10_000,
    ),
    CourseSpec(
        "art-kids",
        "art",
        "少儿创意美术",
        "Creative art for children, term",
        "term",
        term_fee=288_000,
        term_hours=Decimal(32),
        materials_fee=20_000,
    ),
    CourseSpec(
        "sketch",
        "art",
        "素描基础 30 课时",
        "Sketching basics, 30 hours",
        "package",
        package_hours=Decimal(30),
        package_price=270_000,
        gift_hours=Decimal(2),
        materials_fee=15_000,
    ),
    CourseSpec(
        "chinese-dance",
        "dance",
        "中国舞考级班",
        "Chinese dance grading, term",
        "term",
        term_fee=320_000,
        term_hours=Decimal(32),
        materials_fee=18_000,
        registration_fee=5_000,
    ),
    CourseSpec(
        "hiphop",
        "dance",
        "少儿街舞 24 课时",
        "Hip-hop for children, 24 hours",
        "package",
        package_hours=Decimal(24),
        package_price=216_000,
    ),
    CourseSpec(
        "scratch",
        "coding",
        "Scratch 创意编程 36 课时",
        "Scratch coding, 36 hours",
        "package",
        package_hours=Decimal(36),
        package_price=468_000,
        gift_hours=Decimal(3),
        registration_fee=5_000,
    ),
    CourseSpec(
        "python",
        "coding",
        "少儿 Python 编程",
        "Python for children, term",
        "term",
        term_fee=540_000,
        term_hours=Decimal(40),
        materials_fee=10_000,
    ),
    CourseSpec(
        "pen",
        "calligraphy",
        "硬笔书法",
        "Pen calligraphy, term",
        "term",
        term_fee=198_000,
        term_hours=Decimal(24),
        materials_fee=8_000,
    ),
    CourseSpec(
        "brush",
        "calligraphy",
        "软笔书法（按次）",
        "Brush calligraphy, per lesson",
        "per_lesson",
        lesson_price=12_000,
        materials_fee=6_000,
    ),
]


@dataclass(frozen=True)
class ClassSpec:
    course: str
    campus: str
    name: str
    instructor: str
    capacity: int
    weekdays: tuple[int, ...]  # 0 = Monday
    start: str  # "HH:MM"
    minutes: int
    full: bool = False  # the loader fills these to capacity


CLASSES = [
    ClassSpec("olympiad", "haidian", "奥数 A 班", "teacher", 30, (5,), "09:00", 90),
    ClassSpec("olympiad", "chaoyang", "奥数 B 班", "teacher", 26, (6,), "09:00", 90),
    ClassSpec("math-middle", "haidian", "初二数学提高班", "teacher2", 30, (2, 5), "18:30", 90),
    ClassSpec("math-small", "chaoyang", "数学精品小班", "teacher2", 6, (3,), "18:30", 60, full=True),
    ClassSpec("ket", "haidian", "KET 周六班", "teacher3", 20, (5,), "14:00", 120),
    ClassSpec("ket", "chaoyang", "KET 周日班", "teacher3", 20, (6,), "14:00", 120),
    ClassSpec("nce", "haidian", "新概念一册 A 班", "teacher8", 28, (1, 3), "18:00", 60),
    ClassSpec("nce", "chaoyang", "新概念一册 B 班", "teacher8", 28, (0, 2), "18:00", 60),
    ClassSpec("speaking", "haidian", "外教口语小班", "teacher3", 12, (4,), "18:30", 60),
    ClassSpec("piano", "haidian", "钢琴启蒙小组", "teacher4", 8, (5,), "10:00", 60, full=True),
    ClassSpec("piano", "chaoyang", "钢琴进阶小组", "teacher4", 10, (6,), "15:00", 60),
    ClassSpec("art-kids", "haidian", "创意美术周六班", "teacher5", 24, (5,), "15:30", 90),
    ClassSpec("art-kids", "chaoyang", "创意美术周日班", "teacher5", 24, (6,), "10:00", 90),
    ClassSpec("sketch", "chaoyang", "素描基础班", "teacher5", 18, (2,), "18:30", 120),
    ClassSpec("chinese-dance", "haidian", "中国舞三级班", "teacher6", 28, (5,), "09:30", 90),
    ClassSpec("chinese-dance", "chaoyang", "中国舞五级班", "teacher6", 28, (6,), "13:30", 90),
    ClassSpec("hiphop", "chaoyang", "少儿街舞班", "teacher7", 28, (4,), "19:00", 60),
    ClassSpec("scratch", "haidian", "Scratch 启蒙班", "teacher7", 20, (6,), "09:30", 90),
    ClassSpec("scratch", "chaoyang", "Scratch 进阶班", "teacher7", 20, (5,), "14:00", 90),
    ClassSpec("python", "haidian", "Python 入门班", "teacher2", 18, (6,), "14:00", 120),
    ClassSpec("pen", "haidian", "硬笔书法周三班", "teacher6", 28, (2,), "17:30", 60),
    ClassSpec("pen", "chaoyang", "硬笔书法周四班", "teacher6", 28, (3,), "17:30", 60),
    ClassSpec("brush", "haidian", "软笔书法周日班", "teacher4", 18, (6,), "16:00", 90),
    ClassSpec("math-small", "haidian", "数学精品小班（海淀）", "teacher", 10, (4,), "18:30", 60),
]

# (description, unit price, order line kind) for orders not tied to an enrolment.
EXTRAS = [
    ("校服（春秋款）", 18_000, "other"),
    ("华罗庚数学竞赛报名费", 26_000, "other"),
    ("教辅资料（上学期）", 9_500, "materials"),
    ("钢琴考级报名费", 45_000, "other"),
    ("舞蹈考级服装", 22_000, "materials"),
    ("冬令营定金", 50_000, "other"),
    ("英语绘本套装", 16_800, "materials"),
]

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴"
)
CHILD_NAMES = [
    "子涵",
    "一诺",
    "梓萱",
    "浩然",
    "欣怡",
    "宇轩",
    "诗涵",
    "雨桐",
    "思远",
    "俊熙",
    "可馨",
    "明轩",
    "佳怡",
    "睿泽",
    "若曦",
    "沐阳",
    "子墨",
    "语嫣",
    "博文",
    "梓睿",
    "奕辰",
    "雨萱",
    "天佑",
    "嘉怡",
    "晨曦",
    "锦程",
    "一凡",
    "欣妍",
    "皓轩",
    "思琪",
    "芷若",
    "昊天",
    "安琪",
    "子轩",
    "紫涵",
    "宇航",
    "梦瑶",
    "俊豪",
    "雅琪",
    "泽宇",
    "悦",
    "涛",
    "琳",
    "航",
    "萌",
    "晨",
    "瑞",
    "煜",
    "彤",
    "琪",
    "铭",
    "哲",
    "颖",
    "朵朵",
    "乐乐",
    "小雨",
    "家豪",
    "文博",
    "心怡",
    "景行",
    "知远",
    "书瑶",
    "静怡",
    "承泽",
    "嘉懿",
]
PARENT_NAMES = [
    "建华",
    "丽娟",
    "海燕",
    "志强",
    "晓东",
    "静",
    "伟",
    "敏",
    "磊",
    "芳",
    "军",
    "霞",
    "勇",
    "艳",
    "洋",
    "红梅",
    "国强",
    "春梅",
    "秀兰",
    "文斌",
    "晓明",
    "雪",
    "婷",
    "鹏",
    "超",
    "俊杰",
    "慧",
    "颖",
    "晶",
    "立新",
    "永刚",
    "桂芳",
    "海涛",
    "丽华",
    "明",
    "刚",
    "燕",
    "宏伟",
    "小红",
    "亚楠",
    "卫东",
    "淑珍",
    "金凤",
    "志军",
    "美玲",
    "凯",
    "莉",
    "浩",
]
SCHOOLS = {
    "haidian": [
        "中关村第一小学",
        "海淀实验小学",
        "人大附小",
        "北大附小",
        "清华附小",
        "海淀区第二实验小学",
        "人大附中",
        "北京一零一中学",
        "首师大附中",
    ],
    "chaoyang": [
        "朝阳实验小学",
        "芳草地国际学校",
        "白家庄小学",
        "望京实验学校",
        "陈经纶中学",
        "北京八十中学",
        "朝阳外国语学校",
        "日坛中学",
    ],
}
PHONE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                  "156", "158", "159", "176", "177", "180", "181", "182", "185", "186", "187", "188",
                  "189", "199"]  # fmt: skip
