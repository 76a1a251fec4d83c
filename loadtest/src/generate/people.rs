//! Synthetic people: Chinese names, 18-digit resident ID numbers with a valid GB 11643 check
//! character, 11-digit mobile numbers and addresses with their GB/T 2260 district code. Every
//! person is made up; any likeness to a real one is chance.

use chrono::{Days, NaiveDate};
use rand::{Rng, RngExt};

/// GB/T 2260 district codes with the address prefix (province, city, district) they stand for.
const DISTRICTS: [(&str, &str); 16] = [
    ("110105", "北京市朝阳区"),
    ("110108", "北京市海淀区"),
    ("310104", "上海市徐汇区"),
    ("310115", "上海市浦东新区"),
    ("440106", "广东省广州市天河区"),
    ("440305", "广东省深圳市南山区"),
    ("330106", "浙江省杭州市西湖区"),
    ("320106", "江苏省南京市鼓楼区"),
    ("500103", "重庆市渝中区"),
    ("500112", "重庆市渝北区"),
    ("510107", "四川省成都市武侯区"),
    ("420106", "湖北省武汉市武昌区"),
    ("610113", "陕西省西安市雁塔区"),
    ("370202", "山东省青岛市市南区"),
    ("350203", "福建省厦门市思明区"),
    ("430104", "湖南省长沙市岳麓区"),
];

const STREETS: [&str; 12] = [
    "建设路",
    "人民路",
    "解放路",
    "中山路",
    "和平路",
    "长江路",
    "科技园路",
    "滨江路",
    "新华路",
    "光明路",
    "学府路",
    "金融街",
];

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "欧阳",
];

const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "鹏", "飞", "宇", "浩", "欣",
    "怡", "梓", "涵", "子", "轩", "雨", "晨", "琪",
];

const MOBILE_PREFIXES: [&str; 24] = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "156", "157", "158", "159", "176", "177", "180", "186", "187", "188", "199",
];

/// Weights of GB 11643 positions 1..=17 (2^(18-i) mod 11).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder of the weighted sum mod 11.
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// One synthetic person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Real name.
    pub name: String,
    /// 18-digit resident ID number.
    pub id_number: String,
    /// 11-digit mobile number.
    pub telephone: String,
}

/// A buyer: the orderer, a family member who sometimes receives or pays, and their address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    /// The orderer.
    pub buyer: Person,
    /// Another person at the same address (consignee of some parcels, the payer of mismatches).
    pub relative: Person,
    /// Platform account of the buyer (`buyerRegNo`).
    pub reg_no: String,
    /// Delivery address.
    pub address: String,
    /// GB/T 2260 code of the address's district.
    pub district: &'static str,
}

/// The GB 11643 check character of the first 17 digits, or `None` if they are not 17 digits.
pub fn id_check_character(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (byte, weight) in first17.bytes().zip(ID_WEIGHTS) {
        if !byte.is_ascii_digit() {
            return None;
        }
        sum += u32::from(byte - b'0') * weight;
    }
    Some(ID_CHECK[(sum % 11) as usize])
}

/// True when `id_number` is 18 characters whose last one is the GB 11643 check character.
pub fn is_valid_id_number(id_number: &str) -> bool {
    id_number.len() == 18
        && id_number.is_char_boundary(17)
        && id_check_character(&id_number[..17])
            .is_some_and(|check| id_number[17..].eq_ignore_ascii_case(&check.to_string()))
}

fn pick<'a, R: Rng>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn name<R: Rng>(rng: &mut R) -> String {
    let mut name = pick(rng, &SURNAMES).to_owned();
    for _ in 0..rng.random_range(1..=2) {
        name.push_str(pick(rng, &GIVEN));
    }
    name
}

fn telephone<R: Rng>(rng: &mut R) -> String {
    format!(
        "{}{:08}",
        pick(rng, &MOBILE_PREFIXES),
        rng.random_range(0..100_000_000)
    )
}

/// An ID number of an adult born 1965..=2004 in one of [`DISTRICTS`].
fn id_number<R: Rng>(rng: &mut R) -> String {
    let (area, _) = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
    let first = NaiveDate::from_ymd_opt(1965, 1, 1).expect("a valid date");
    let birth = first + Days::new(rng.random_range(0..40 * 365));
    let first17 = format!(
        "{area}{}{:03}",
        birth.format("%Y%m%d"),
        rng.random_range(0..1000)
    );
    let check = id_check_character(&first17).expect("17 digits");
    format!("{first17}{check}")
}

/// A made-up person.
pub fn person<R: Rng>(rng: &mut R) -> Person {
    Person {
        name: name(rng),
        id_number: id_number(rng),
        telephone: telephone(rng),
    }
}

/// A made-up household.
pub fn household<R: Rng>(rng: &mut R) -> Household {
    let (district, prefix) = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
    let address = format!(
        "{prefix}{}{}号{}栋{}单元{}室",
        pick(rng, &STREETS),
        rng.random_range(1..=999),
        rng.random_range(1..=30),
        rng.random_range(1..=6),
        rng.random_range(101..=2806),
    );
    Household {
        buyer: person(rng),
        relative: person(rng),
        reg_no: format!("u{:010}", rng.random_range(0..10_000_000_000_u64)),
        address,
        district,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn check_character_matches_the_standard_examples() {
        // GB 11643-1999 appendix examples.
        assert!(is_valid_id_number("11010519491231002X"));
        assert!(is_valid_id_number("440524188001010014"));
        assert!(!is_valid_id_number("110105194912310021"));
        assert!(!is_valid_id_number("11010519491231002"));
        assert!(!is_valid_id_number("1101051949123100２X"));
    }

    proptest! {
        #[test]
        fn generated_people_are_well_formed(seed in any::<u64>()) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let home = household(&mut rng);
            for person in [&home.buyer, &home.relative] {
                prop_assert!(is_valid_id_number(&person.id_number), "{}", person.id_number);
                prop_assert_eq!(person.telephone.len(), 11);
                prop_assert!(person.telephone.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(person.telephone.starts_with('1'));
                let chars = person.name.chars().count();
                prop_assert!((2..=4).contains(&chars));
            }
            prop_assert!(home.address.chars().count() <= 200);
            prop_assert_eq!(home.district.len(), 6);
        }

        #[test]
        fn changing_any_digit_breaks_the_check(seed in any::<u64>(), position in 0_usize..17) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let id = person(&mut rng).id_number;
            let mut bytes = id.into_bytes();
            bytes[position] = b'0' + (bytes[position] - b'0' + 1) % 10;
            prop_assert!(!is_valid_id_number(&String::from_utf8(bytes).unwrap()));
        }
    }
}
