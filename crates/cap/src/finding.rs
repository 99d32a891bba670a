//! Findings: what the parser and the conformance checks say about a document.
//!
//! This module owns the catalogue of rules (`Rule`, each with a stable snake_case code and a message in English and
//! Simplified Chinese) and the `Finding` that points one rule at one element and line.
//! It never decides whether a document breaks a rule; `parse`, `check`, `gbt35965` and `edxl` do.
//!
//! Messages are templates with three placeholders, filled from the finding:
//! `{element}` (the name of the element at fault, the last step of its path), `{value}` (the offending text, quoted
//! as it was) and `{related}` (a second element or value the rule refers to).
//! The templates live here rather than in `domain::i18n` because `cap` is a leaf library that depends on no other
//! Gridline crate; the codes are stable, so a catalogue can take them over without breaking anyone.

use std::fmt;

/// The language of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// English.
    En,
    /// Simplified Chinese (zh-CN).
    ZhCn,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingLevel {
    /// The document does not conform; a validator rejects it (exit code 1).
    Error,
    /// The document conforms, but something is suspicious or likely to be misread.
    Warning,
}

impl FindingLevel {
    /// `error` or `warning`, as written in the command line's output and in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One finding: a rule broken by one element of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error (not conforming) or warning.
    pub level: FindingLevel,
    /// The rule that is broken.
    pub rule: Rule,
    /// Where: an XPath-like path with 1-based indexes, such as `/alert/info[1]/area[2]/polygon[1]`.
    pub path: String,
    /// The 1-based line of the element in the source document, when the finding comes from a parsed document.
    pub line: Option<u32>,
    /// The offending text as it was in the document (never translated).
    pub value: Option<String>,
    /// A second element name or value the rule refers to (never translated).
    pub related: Option<String>,
}

impl Finding {
    /// A finding at `path` with the rule's default level.
    pub fn new(rule: Rule, path: impl Into<String>) -> Self {
        Self { level: rule.default_level(), rule, path: path.into(), line: None, value: None, related: None }
    }

    /// The same finding with the source line set.
    pub fn at_line(mut self, line: Option<u32>) -> Self {
        self.line = line;
        self
    }

    /// The same finding quoting the offending value.
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// The same finding naming a related element or value.
    pub fn with_related(mut self, related: impl Into<String>) -> Self {
        self.related = Some(related.into());
        self
    }

    /// The name of the element at fault: the last step of the path, without its index.
    pub fn element(&self) -> &str {
        let last = self.path.rsplit('/').next().unwrap_or("");
        last.split('[').next().unwrap_or(last)
    }

    /// Whether the document is rejected because of this finding.
    pub fn is_error(&self) -> bool {
        self.level == FindingLevel::Error
    }

    /// The message in the given language.
    pub fn message(&self, language: Language) -> String {
        let template = match language {
            Language::En => self.rule.template_en(),
            Language::ZhCn => self.rule.template_zh(),
        };
        fill(template, self.element(), self.value.as_deref().unwrap_or(""), self.related.as_deref().unwrap_or(""))
    }

    /// The message in English.
    pub fn message_en(&self) -> String {
        self.message(Language::En)
    }

    /// The message in Simplified Chinese.
    pub fn message_zh(&self) -> String {
        self.message(Language::ZhCn)
    }
}

impl fmt::Display for Finding {
    /// `line 12: error[element_order] /alert/sender: …` in English.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "{}[{}] {}: {}", self.level.code(), self.rule.code(), self.path, self.message_en())
    }
}

/// Fills a message template. Values are inserted once, so a value that itself contains `{value}` stays as it is.
pub(crate) fn fill(template: &str, element: &str, value: &str, related: &str) -> String {
    let mut out = String::with_capacity(template.len() + value.len() + related.len() + element.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let (replacement, skip) = if tail.starts_with("{element}") {
            (Some(element), "{element}".len())
        } else if tail.starts_with("{value}") {
            (Some(value), "{value}".len())
        } else if tail.starts_with("{related}") {
            (Some(related), "{related}".len())
        } else {
            (None, 1)
        };
        match replacement {
            Some(text) => out.push_str(text),
            None => out.push('{'),
        }
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $level:ident, $en:literal, $zh:literal; )*) => {
        /// Every rule a document can break, with a stable snake_case code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Rule {
            $( $(#[$doc])* $variant, )*
        }

        impl Rule {
            /// Every rule, for catalogue and documentation checks.
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )* ];

            /// The stable snake_case code of the rule.
            pub fn code(self) -> &'static str {
                match self { $( Rule::$variant => $code, )* }
            }

            /// Whether breaking the rule makes the document non-conforming (error) or only suspicious (warning).
            pub fn default_level(self) -> FindingLevel {
                match self { $( Rule::$variant => FindingLevel::$level, )* }
            }

            /// The English message template (placeholders `{element}`, `{value}`, `{related}`).
            pub fn template_en(self) -> &'static str {
                match self { $( Rule::$variant => $en, )* }
            }

            /// The Simplified Chinese message template (same placeholders).
            pub fn template_zh(self) -> &'static str {
                match self { $( Rule::$variant => $zh, )* }
            }

            /// The rule with this code, if there is one.
            pub fn from_code(code: &str) -> Option<Rule> {
                Rule::ALL.iter().copied().find(|rule| rule.code() == code)
            }
        }
    };
}

rules! {
    // The document as XML.
    /// The bytes are not well-formed XML; the value is the XML reader's own message.
    XmlMalformed = "xml_malformed", Error,
        "the document is not well-formed XML: {value}",
        "文档不是格式正确的 XML：{value}";
    /// A character XML 1.0 does not allow (a control character, U+FFFE, U+FFFF).
    XmlInvalidCharacter = "xml_invalid_character", Error,
        "the character {value} is not allowed in XML",
        "XML 中不允许出现字符 {value}";
    /// An entity other than the five predefined ones.
    XmlUndefinedEntity = "xml_undefined_entity", Error,
        "the entity {value} is not defined (only &lt; &gt; &amp; &apos; &quot; and character references are)",
        "实体 {value} 未定义（只能使用 &lt; &gt; &amp; &apos; &quot; 和字符引用）";
    /// A namespace prefix without a declaration.
    XmlUndeclaredPrefix = "xml_undeclared_prefix", Error,
        "the namespace prefix {value} is not declared",
        "命名空间前缀 {value} 未声明";
    /// An element without its end tag.
    XmlUnclosedElement = "xml_unclosed_element", Error,
        "the element {value} is not closed",
        "元素 {value} 没有结束标记";
    /// An end tag without its start tag.
    XmlUnexpectedEndTag = "xml_unexpected_end_tag", Error,
        "an end tag has no matching start tag",
        "结束标记没有对应的开始标记";
    /// Text or a second element outside the root element.
    XmlOutsideRoot = "xml_outside_root", Error,
        "there is text or a second element outside the root element",
        "根元素之外还有文本或第二个元素";
    /// No element at all.
    XmlNoRoot = "xml_no_root", Error,
        "the document has no root element",
        "文档没有根元素";
    /// The bytes do not decode in the declared (or detected) encoding.
    XmlEncoding = "xml_encoding", Error,
        "the document's bytes are not valid {value}",
        "文档的字节不是有效的 {value} 编码";
    /// The declared encoding is not one this crate reads.
    UnsupportedEncoding = "unsupported_encoding", Error,
        "the encoding {value} is not supported; send UTF-8",
        "不支持编码 {value}，请使用 UTF-8";
    /// A document type declaration, refused because its entities could read files or the network (XXE).
    DtdForbidden = "dtd_forbidden", Error,
        "a document type declaration (DOCTYPE) is refused: its entities could read files or network resources",
        "拒绝文档类型声明（DOCTYPE）：其中的实体可能读取文件或网络资源";
    /// Elements nested deeper than the reader allows.
    XmlTooDeep = "xml_too_deep", Error,
        "elements are nested deeper than {value} levels",
        "元素嵌套超过 {value} 层";
    /// The root element is not the one expected.
    UnexpectedRoot = "unexpected_root", Error,
        "the root element is {value}, expected {related}",
        "根元素是 {value}，应为 {related}";
    /// A CAP namespace other than CAP 1.2 (CAP 1.0 or 1.1).
    CapVersion = "cap_version", Error,
        "the document is in the namespace {value}; only CAP 1.2 (urn:oasis:names:tc:emergency:cap:1.2) is accepted",
        "文档使用命名空间 {value}；只接受 CAP 1.2（urn:oasis:names:tc:emergency:cap:1.2）";
    /// An element without the namespace its schema requires.
    NamespaceMissing = "namespace_missing", Error,
        "{element} has no namespace; it must be in {related}",
        "{element} 没有命名空间，应属于 {related}";

    // Structure.
    /// An element the schema does not allow at this place.
    UnexpectedElement = "unexpected_element", Error,
        "{element} is not allowed inside {related}",
        "{related} 中不允许出现 {element}";
    /// An attribute the schema does not allow.
    UnexpectedAttribute = "unexpected_attribute", Error,
        "the attribute {value} is not allowed on {element}",
        "{element} 上不允许出现属性 {value}";
    /// Text where only elements are allowed, or elements where only text is allowed.
    UnexpectedContent = "unexpected_content", Error,
        "{element} has content its schema does not allow: {value}",
        "{element} 含有模式不允许的内容：{value}";
    /// An element out of the order the schema fixes.
    ElementOrder = "element_order", Error,
        "{element} must come before {related} (the schema fixes the order of elements)",
        "{element} 必须位于 {related} 之前（模式规定了元素顺序）";
    /// A required element is absent.
    MissingElement = "missing_element", Error,
        "{element} lacks the required element {value}",
        "{element} 缺少必需的元素 {value}";
    /// An element that may appear once appears again.
    DuplicateElement = "duplicate_element", Error,
        "{element} may appear only once in {related}",
        "{element} 在 {related} 中只能出现一次";

    // Values.
    /// A value outside an enumeration.
    InvalidEnum = "invalid_enum", Error,
        "\"{value}\" is not an allowed value of {element}; allowed: {related}",
        "“{value}”不是 {element} 允许的取值；允许的取值：{related}";
    /// Spaces or line breaks around a value whose type does not allow them.
    ValueWhitespace = "value_whitespace", Error,
        "the value of {element} has spaces or line breaks around it: \"{value}\"",
        "{element} 的取值前后有空格或换行：“{value}”";
    /// A required value is empty.
    EmptyValue = "empty_value", Error,
        "{element} must not be empty",
        "{element} 不能为空";
    /// An optional element is present but empty.
    EmptyElement = "empty_element", Warning,
        "{element} is present but empty; leave it out instead",
        "{element} 存在但为空，应省略该元素";
    /// A value longer than its type allows.
    ValueTooLong = "value_too_long", Error,
        "{element} is longer than {related} characters",
        "{element} 超过 {related} 个字符";
    /// Not a date-time at all.
    DatetimeFormat = "datetime_format", Error,
        "\"{value}\" is not a date-time of the form YYYY-MM-DDThh:mm:ss±hh:mm",
        "“{value}”不是 YYYY-MM-DDThh:mm:ss±hh:mm 格式的日期时间";
    /// A date-time without a numeric time-zone offset.
    DatetimeTimezone = "datetime_timezone", Error,
        "\"{value}\" has no numeric time-zone offset (\"Z\" and missing offsets are not allowed; UTC is written -00:00)",
        "“{value}”没有数字时区偏移（不允许“Z”或省略偏移；UTC 写作 -00:00）";
    /// A date-time with fractional seconds.
    DatetimeFraction = "datetime_fraction", Error,
        "\"{value}\" has fractional seconds, which CAP 1.2 does not allow",
        "“{value}”带有小数秒，CAP 1.2 不允许";
    /// A number that does not parse or is out of range.
    InvalidNumber = "invalid_number", Error,
        "\"{value}\" is not a valid number for {element}",
        "“{value}”不是 {element} 的有效数值";
    /// A language tag that is not RFC 3066.
    InvalidLanguage = "invalid_language", Error,
        "\"{value}\" is not a language tag such as zh-CN or en-US",
        "“{value}”不是 zh-CN、en-US 这样的语言标记";
    /// A `web` or `uri` that is not a URI reference.
    InvalidUri = "invalid_uri", Error,
        "\"{value}\" is not a URI (RFC 3986)",
        "“{value}”不是 URI（RFC 3986）";
    /// A polygon whose text is not a list of latitude,longitude pairs.
    PolygonFormat = "polygon_format", Error,
        "\"{value}\" is not a \"latitude,longitude\" pair; polygon points are pairs separated by spaces",
        "“{value}”不是“纬度,经度”坐标对；多边形的点是以空格分隔的坐标对";
    /// A polygon with fewer than four points.
    PolygonTooFewPoints = "polygon_too_few_points", Error,
        "a polygon needs at least 4 points (the first repeated as the last); this one has {value}",
        "多边形至少需要 4 个点（首点在末尾重复）；此多边形只有 {value} 个";
    /// A polygon whose last point is not its first point.
    PolygonNotClosed = "polygon_not_closed", Error,
        "the polygon is not closed: its last point {value} differs from its first point {related}",
        "多边形未闭合：末点 {value} 与首点 {related} 不同";
    /// A latitude or longitude out of range.
    CoordinateRange = "coordinate_range", Error,
        "\"{value}\" is out of range: latitude comes first and lies within -90..90, longitude within -180..180",
        "“{value}”超出范围：纬度在前，取值 -90..90；经度取值 -180..180";
    /// A circle whose text is not `latitude,longitude radius`.
    CircleFormat = "circle_format", Error,
        "\"{value}\" is not a circle \"latitude,longitude radius\" (radius in kilometres)",
        "“{value}”不是“纬度,经度 半径”格式的圆（半径以千米计）";
    /// A negative or non-numeric circle radius.
    CircleRadius = "circle_radius", Error,
        "the circle radius \"{value}\" must be a number of kilometres, zero or more",
        "圆的半径“{value}”必须是大于或等于零的千米数";
    /// A `references` value that is not space-separated `sender,identifier,sent` triples.
    ReferencesFormat = "references_format", Error,
        "\"{value}\" is not a list of sender,identifier,sent triples separated by spaces",
        "“{value}”不是以空格分隔的“发送者,标识符,发送时间”列表";
    /// An identifier or sender with spaces, commas, `<` or `&`.
    ForbiddenCharacters = "forbidden_characters", Error,
        "{element} must not contain spaces, commas, < or &: \"{value}\"",
        "{element} 不能包含空格、逗号、< 或 &：“{value}”";

    // CAP 1.2 section 3 rules between elements.
    /// `Update`, `Cancel`, `Ack` and `Error` messages must reference earlier messages.
    ReferencesRequired = "references_required", Error,
        "a message of type {value} must give references to the message(s) it concerns",
        "{value} 类型的消息必须在 references 中给出所涉及的消息";
    /// Scope `Restricted` needs `restriction`.
    RestrictionRequired = "restriction_required", Error,
        "scope Restricted needs a restriction saying who may receive the alert",
        "范围为 Restricted 时必须用 restriction 说明谁可以接收该警报";
    /// Scope `Private` needs `addresses`.
    AddressesRequired = "addresses_required", Error,
        "scope Private needs addresses listing the recipients",
        "范围为 Private 时必须用 addresses 列出接收者";
    /// `restriction` given while the scope is not `Restricted`.
    RestrictionUnexpected = "restriction_unexpected", Warning,
        "restriction is meant for scope Restricted, but the scope is {value}",
        "restriction 用于 Restricted 范围，但此处范围为 {value}";
    /// `expires` not after `sent`.
    ExpiresBeforeSent = "expires_before_sent", Error,
        "expires ({value}) must be later than sent ({related})",
        "expires（{value}）必须晚于 sent（{related}）";
    /// `expires` not after `effective`.
    ExpiresBeforeEffective = "expires_before_effective", Error,
        "expires ({value}) must be later than effective ({related})",
        "expires（{value}）必须晚于 effective（{related}）";
    /// `expires` at the same instant as `sent` or `effective`.
    ExpiresImmediately = "expires_immediately", Warning,
        "expires is the same time as {related} ({value}): the information is no longer in force once it is issued",
        "expires 与 {related} 相同（{value}）：信息一发布即失效";
    /// `onset` after `expires`.
    OnsetAfterExpires = "onset_after_expires", Warning,
        "onset ({value}) is later than expires ({related})",
        "onset（{value}）晚于 expires（{related}）";
    /// `ceiling` without `altitude`.
    CeilingWithoutAltitude = "ceiling_without_altitude", Error,
        "ceiling may only be used together with altitude",
        "ceiling 只能与 altitude 一起使用";
    /// `ceiling` below `altitude`.
    CeilingBelowAltitude = "ceiling_below_altitude", Error,
        "ceiling ({value}) is below altitude ({related})",
        "ceiling（{value}）低于 altitude（{related}）";
    /// `derefUri` that is not base64.
    DerefUriEncoding = "deref_uri_encoding", Error,
        "derefUri must hold the resource encoded in base64",
        "derefUri 必须是 base64 编码的资源内容";
    /// `digest` that is not a SHA-1 hash.
    DigestFormat = "digest_format", Warning,
        "digest \"{value}\" is not a SHA-1 hash (40 hexadecimal digits)",
        "digest“{value}”不是 SHA-1 摘要（40 位十六进制数字）";

    // The Chinese profile, GB/T 35965.1-2018, and the Emergency Response Law Art. 64.
    /// An identifier that is not `ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`.
    GbtIdentifierFormat = "gbt_identifier_format", Error,
        "\"{value}\" is not a GB/T 35965.1 identifier ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N (31 characters, a real date and time)",
        "“{value}”不是 GB/T 35965.1 预警信息标识 ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N（31 个字符，日期时间须真实存在）";
    /// An issuer code whose administrative division is not a GB/T 2260 code.
    GbtAdminDivision = "gbt_admin_division", Error,
        "\"{value}\" is not a GB/T 2260 administrative division code (6 digits beginning with a province code)",
        "“{value}”不是 GB/T 2260 行政区划代码（以省级代码开头的 6 位数字）";
    /// The identifier's entry time is later than `sent`.
    GbtIdentifierAfterSent = "gbt_identifier_after_sent", Warning,
        "the identifier's time {value} (Beijing time) is later than sent ({related})",
        "标识中的时间 {value}（北京时间）晚于 sent（{related}）";
    /// No warning colour.
    GbtWarningLevelMissing = "gbt_warning_level_missing", Error,
        "the warning level (red, orange, yellow or blue) is missing; give it in a parameter named GBT35965:warningLevel",
        "缺少预警级别（红、橙、黄、蓝）；请在名为 GBT35965:warningLevel 的 parameter 中给出";
    /// A warning colour that is not one of the four.
    GbtWarningLevelInvalid = "gbt_warning_level_invalid", Error,
        "\"{value}\" is not a warning level; use Red, Orange, Yellow or Blue",
        "“{value}”不是预警级别；应为 Red（红）、Orange（橙）、Yellow（黄）或 Blue（蓝）";
    /// Info blocks with different colours.
    GbtWarningLevelInconsistent = "gbt_warning_level_inconsistent", Error,
        "the info blocks give different warning levels: {value} and {related}",
        "各 info 给出的预警级别不一致：{value} 与 {related}";
    /// Severity that differs from the colour's mapping.
    GbtSeverityMismatch = "gbt_severity_mismatch", Warning,
        "severity {value} differs from {related}",
        "severity {value} 与 {related} 不一致";
    /// No start time (Art. 64).
    GbtStartTimeMissing = "gbt_start_time_missing", Error,
        "the start time of the warning is missing: give effective or onset (Emergency Response Law Art. 64)",
        "缺少预警起始时间：请给出 effective 或 onset（《突发事件应对法》第六十四条）";
    /// No affected area (Art. 64).
    GbtAreaMissing = "gbt_area_missing", Error,
        "the affected area is missing: give an area with a polygon, circle or geocode (Emergency Response Law Art. 64)",
        "缺少影响范围：请给出含多边形、圆或地理编码的 area（《突发事件应对法》第六十四条）";
    /// No warning items (Art. 64).
    GbtDescriptionMissing = "gbt_description_missing", Error,
        "the warning items are missing: give a description (Emergency Response Law Art. 64)",
        "缺少警示事项：请给出 description（《突发事件应对法》第六十四条）";
    /// No measures (Art. 64).
    GbtInstructionMissing = "gbt_instruction_missing", Error,
        "the measures to take are missing: give an instruction (Emergency Response Law Art. 64)",
        "缺少应当采取的措施：请给出 instruction（《突发事件应对法》第六十四条）";
    /// No issuing body (Art. 64).
    GbtSenderNameMissing = "gbt_sender_name_missing", Error,
        "the issuing body is missing: give a senderName (Emergency Response Law Art. 64)",
        "缺少发布机关：请给出 senderName（《突发事件应对法》第六十四条）";
    /// No event type code.
    GbtEventCodeMissing = "gbt_event_code_missing", Warning,
        "no eventCode gives the code of the event type",
        "没有 eventCode 给出事件类型代码";
    /// No Chinese info block.
    GbtChineseInfoMissing = "gbt_chinese_info_missing", Error,
        "no info block is in Chinese (language zh-CN)",
        "没有中文（语言 zh-CN）的 info";
    /// A time not in Beijing time.
    GbtOffsetNotBeijing = "gbt_offset_not_beijing", Warning,
        "{value} is not given in Beijing time (+08:00)",
        "{value} 不是北京时间（+08:00）";

    // The CAP v1.2 USA IPAWS Profile v1.0.
    /// No `<code>IPAWSv1.0</code>`.
    IpawsCodeMissing = "ipaws_code_missing", Error,
        "the alert does not say it follows the IPAWS profile: add <code>IPAWSv1.0</code>",
        "警报未声明遵循 IPAWS 规范：请添加 <code>IPAWSv1.0</code>";
    /// An info without `expires`.
    IpawsExpiresMissing = "ipaws_expires_missing", Error,
        "IPAWS needs an expires in every info",
        "IPAWS 要求每个 info 都有 expires";
    /// No SAME event code.
    IpawsSameEventMissing = "ipaws_same_event_missing", Error,
        "IPAWS needs an eventCode named SAME with a three-letter SAME event code (such as FFW or CEM)",
        "IPAWS 要求一个名为 SAME 的 eventCode，值为三个字母的 SAME 事件代码（如 FFW、CEM）";
    /// A SAME event code that is not three capital letters.
    IpawsSameEventInvalid = "ipaws_same_event_invalid", Error,
        "\"{value}\" is not a SAME event code (three capital letters)",
        "“{value}”不是 SAME 事件代码（三个大写字母）";
    /// No EAS originator.
    IpawsEasOrgMissing = "ipaws_eas_org_missing", Error,
        "IPAWS needs a parameter EAS-ORG (EAS, CIV, WXR or PEP) unless EAS is blocked (BLOCKCHANNEL EAS)",
        "IPAWS 要求参数 EAS-ORG（EAS、CIV、WXR 或 PEP），除非已屏蔽 EAS（BLOCKCHANNEL EAS）";
    /// An EAS originator outside the four.
    IpawsEasOrgInvalid = "ipaws_eas_org_invalid", Error,
        "\"{value}\" is not an EAS originator; use EAS, CIV, WXR or PEP",
        "“{value}”不是 EAS 发布方代码；应为 EAS、CIV、WXR 或 PEP";
    /// A Wireless Emergency Alert text over 90 characters.
    IpawsCmamTextTooLong = "ipaws_cmam_text_too_long", Error,
        "the CMAMtext has {value} characters; a Wireless Emergency Alert takes at most 90",
        "CMAMtext 有 {value} 个字符；无线紧急警报最多 90 个字符";
    /// An area without a SAME location code.
    IpawsSameGeocodeMissing = "ipaws_same_geocode_missing", Error,
        "IPAWS needs at least one geocode named SAME (a six-digit FIPS location code) in every area",
        "IPAWS 要求每个 area 至少有一个名为 SAME 的 geocode（六位 FIPS 地区代码）";
    /// A SAME location code that is not six digits.
    IpawsSameGeocodeInvalid = "ipaws_same_geocode_invalid", Error,
        "\"{value}\" is not a SAME location code (six digits)",
        "“{value}”不是 SAME 地区代码（六位数字）";

    // JSON.
    /// The text is not JSON.
    JsonSyntax = "json_syntax", Error,
        "the document is not valid JSON: {value}",
        "文档不是有效的 JSON：{value}";
    /// A JSON value of the wrong type.
    JsonType = "json_type", Error,
        "{element} must be a JSON {related}",
        "{element} 必须是 JSON {related}";
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
