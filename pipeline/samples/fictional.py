"""Realistic, fictional sample data (fixed seed): companies with valid 统一社会信用代码, inspectors,
filled check tables. Used by ``shuangsui demo`` and by the tests' fixtures.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from stdnum.cn import uscc as stdnum_uscc

YANTAI_REGIONS = ("370602", "370611", "370612", "370613", "370614", "370681", "370682", "370683", "370685",
                  "370686", "370687")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_check(body: str) -> str:
    """Check character of an 8-digit organisation code body (GB 11714)."""
    total = sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def make_uscc(rng: random.Random, region: str | None = None, category: str = "91") -> str:
    """A checksum-valid 统一社会信用代码 with a Yantai region code."""
    body = f"{rng.randrange(10**7, 10**8)}"
    partial = category + (region or rng.choice(YANTAI_REGIONS)) + body + org_code_check(body)
    return partial + stdnum_uscc.calc_check_digit(partial)


@dataclass(frozen=True)
class Company:
    name: str
    uscc: str
    legal_rep: str
    address: str
    industry: str


@dataclass(frozen=True)
class Person:
    name: str
    title: str
    section: str
    licence_no: str
    valid_until: dt.date
    phone: str

    def as_inspector(self) -> dict[str, str]:
        return {"name": self.name, "title": self.title, "licence_no": self.licence_no, "phone": self.phone}


_PREFIXES = ("烟台", "烟台市", "山东")
_WORDS = ("恒信", "华泰", "鲁东", "海元", "金岭", "瑞丰", "博远", "东润", "宏达", "正泰", "益康", "港城", "明德", "芝罘湾")
_KINDS = (("精密机械有限公司", "通用设备制造业"), ("化工有限公司", "化学原料和化学制品制造业"),
          ("盐业有限公司", "批发业"), ("电子科技有限公司", "计算机、通信和其他电子设备制造业"),
          ("民爆器材经营有限公司", "批发业"), ("新材料股份有限公司", "非金属矿物制品业"))
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
_GIVEN = ("建国", "海燕", "志强", "丽娜", "明", "伟", "静", "磊", "晓东", "春梅", "国华", "秀英", "立新", "雪")
_TITLES = ("科长", "副科长", "一级主任科员", "二级主任科员", "四级主任科员", "科员")
ITEMS = (
    ("民用爆炸物品销售的安全生产监督管理", "《民用爆炸物品安全管理条例》第四条、第五十二条"),
    ("食盐专营工作检查", "《食盐专营办法》第二十二条"),
    ("监控化学品的监督检查", "《中华人民共和国监控化学品管理条例》第十五条"),
    ("工业节能监察", "《中华人民共和国节约能源法》第十二条、《工业节能管理办法》第六条"),
    ("无线电发射设备监督检查", "《中华人民共和国无线电管理条例》第六十二条"),
)
SITUATIONS = (
    ("经现场检查，企业相关台账、制度齐全，未发现问题。", "无"),
    ("发现企业安全管理台账记录不完整，部分出入库登记缺失。", "已责令企业限期整改，整改期限15日，届时复查。"),
    ("查阅资料并现场核实，企业各项管理制度落实到位，符合要求。", "继续保持。"),
)


def person_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def make_companies(rng: random.Random, n: int) -> list[Company]:
    seen: set[str] = set()
    out: list[Company] = []
    while len(out) < n:
        kind, industry = rng.choice(_KINDS)
        name = rng.choice(_PREFIXES) + rng.choice(_WORDS) + kind
        if name in seen:
            continue
        seen.add(name)
        out.append(Company(name, make_uscc(rng), person_name(rng), f"山东省烟台市{rng.choice(('芝罘', '莱山', '福山', '牟平'))}区"
                           f"{rng.choice(('港城东', '长江', '迎春', '观海'))}路{rng.randrange(1, 300)}号", industry))
    return out


def make_inspectors(rng: random.Random, n: int) -> list[Person]:
    out: list[Person] = []
    for i in range(n):
        out.append(Person(person_name(rng), rng.choice(_TITLES), rng.choice(("产业政策科", "安全生产科", "节能与综合利用科")),
                          f"3706{rng.randrange(10, 99)}{2018 + i % 6}{rng.randrange(10**4, 10**5)}",
                          dt.date(2028, 12, 31), f"13{rng.randrange(5, 9)}{rng.randrange(10**7, 10**8)}"))
    return out


def check_table_fields(rng: random.Random, company: Company, inspectors: list[Person],
                       start: dt.datetime, minutes: int = 90) -> dict[str, Any]:
    """The fields of a filled check table, in the extraction contract's shape."""
    item, basis = rng.choice(ITEMS)
    situation, handling = rng.choice(SITUATIONS)
    end = start + dt.timedelta(minutes=minutes)

    def day(offset: int) -> str:
        return (start.date() + dt.timedelta(days=offset)).isoformat()

    return {
        "inspected_unit": company.name,
        "basis": basis,
        "scope": f"{item}：相关制度、台账及现场管理情况",
        "methods": ["书面检查", "现场检查"] if rng.random() < 0.5 else ["现场检查"],  # form order (第九条)
        "inspectors": [p.as_inspector() for p in inspectors],
        "situation": situation,
        "check_start": start.strftime("%Y-%m-%dT%H:%M"),
        "check_end": end.strftime("%Y-%m-%dT%H:%M"),
        "handling": handling,
        "dept_opinion_date": day(-5),
        "leader_approval_date": day(-4),
        "authority_opinion_date": day(-4),
        "leader_confirmation_date": day(2),
        "authority_seal_date": day(2),
    }


SITE_SITUATIONS = (
    "检查人员出示执法证件，说明来意。经现场查看，企业相关管理制度已上墙，台账记录完整，未发现问题。",
    "检查人员出示执法证件，说明来意。现场查看仓储区，发现部分出入库登记缺失，已当场指出并要求整改。",
    "检查人员出示执法证件，说明来意。查阅资料并现场核实，企业各项管理制度落实到位。",
)
REFUSAL_REASONS = (
    "被检查单位负责人拒绝签字，亦未盖章。",
    "法定代表人不在现场，现场人员称无权签字。",
)


def site_record_fields(rng: random.Random, company: Company, inspectors: list[Person], start: dt.datetime,
                       refused: bool = False) -> dict[str, Any]:
    """The fields of a filled 现场检查笔录 (第十条), in the extraction contract's shape.

    With ``refused`` the party did not sign or seal: the reason is noted and a witness signed.
    """
    end = start + dt.timedelta(minutes=rng.choice((60, 75, 90, 120)))
    day = start.date().isoformat()
    return {
        "check_start": start.strftime("%Y-%m-%dT%H:%M"),
        "check_end": end.strftime("%Y-%m-%dT%H:%M"),
        "place": company.address,
        "inspected_unit": company.name,
        "legal_rep": company.legal_rep,
        "inspectors": [{"name": p.name, "licence_no": p.licence_no} for p in inspectors],
        "situation": rng.choice(SITE_SITUATIONS),
        "party_signed": not refused,
        "party_sign_date": None if refused else day,
        "refusal_reason": rng.choice(REFUSAL_REASONS) if refused else None,
        "witness": person_name(rng) if refused else None,
        "inspector_sign_date": day,
    }
