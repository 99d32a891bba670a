//! The catalog itself. Each entry is `(key, English, Simplified Chinese)`; placeholders are `{name}` and must be
//! the same in both languages (a unit test checks). Keep entries grouped by the key's first segment.

macro_rules! catalog {
    ($($key:literal => $en:literal, $zh:literal;)*) => {
        pub(super) static CATALOG: &[(&str, &str, &str)] = &[$(($key, $en, $zh)),*];
    };
}

catalog! {
    // Why a value was rejected.
    "invalid.required" => "is required", "为必填项";
    "invalid.too_long" => "must be at most {max} characters", "长度不能超过 {max} 个字符";
    "invalid.too_short" => "must be at least {min} characters", "长度不能少于 {min} 个字符";
    "invalid.bad_characters" => "may contain only {allowed}", "只能包含 {allowed}";
    "invalid.unknown_value" => "must be one of: {allowed}", "必须是以下值之一：{allowed}";
    "invalid.out_of_range" => "must be between {min} and {max}", "必须介于 {min} 与 {max} 之间";
    "invalid.malformed" => "has the wrong format; expected {expected}", "格式不正确，应为 {expected}";
    "invalid.ring_not_closed" => "the ring is not closed: its last position must equal its first", "环未闭合：最后一个坐标必须与第一个相同";
    "invalid.ring_too_short" => "a ring needs at least four positions", "一个环至少需要四个坐标";
    "invalid.zero_area" => "the polygon encloses no area", "多边形面积为零";
    "invalid.unsupported_geometry" => "geometry type {found} is not accepted here; use Polygon or MultiPolygon", "此处不接受几何类型 {found}，请使用 Polygon 或 MultiPolygon";
    "invalid.bad_parent_level" => "a {child} cannot be placed under a {parent}", "{child}不能隶属于{parent}";
    "invalid.duplicate" => "is already in use", "已被占用";
    "invalid.wrong_type" => "has the wrong type: {detail}", "类型错误：{detail}";
    "invalid.unknown_field" => "is not a known field", "不是可识别的字段";
    "invalid.not_found" => "refers to something that does not exist", "引用的对象不存在";

    // API and command errors: the `code` of a problem+json document, and its title.
    "error.malformed_json" => "The request body is not valid JSON", "请求体不是有效的 JSON";
    "error.invalid_field" => "A field is invalid", "字段无效";
    "error.payload_too_large" => "The request body is larger than {limit} bytes", "请求体超过 {limit} 字节上限";
    "error.unsupported_media_type" => "The request body must be {expected}", "请求体必须为 {expected}";
    "error.not_found" => "Not found", "未找到";
    "error.route_not_found" => "There is no such address in the API", "API 中没有此地址";
    "error.method_not_allowed" => "This method is not allowed here", "此地址不允许该请求方法";
    "error.sign_in_required" => "Sign in first", "请先登录";
    "error.forbidden" => "You may not do this", "您无权执行此操作";
    "error.version_conflict" => "Someone else changed this record: it is now at version {current}. Reload and apply your change again", "该记录已被他人修改，当前版本为 {current}。请刷新后重新修改";
    "error.version_required" => "Say which version you are changing: send \"version\" in the body or an If-Match header", "请指明要修改的版本：在请求体中提供 \"version\" 或使用 If-Match 请求头";
    "error.duplicate" => "{field} is already in use", "{field} 已被占用";
    "error.has_dependents" => "This record is still used by {count} other records ({what}); remove or move them first", "该记录仍被 {count} 条其他记录（{what}）使用，请先删除或迁移它们";
    "error.rate_limited" => "Too many attempts; try again in {seconds} seconds", "尝试次数过多，请在 {seconds} 秒后重试";
    "error.csrf_failed" => "The form has expired or did not come from Gridline; reload the page and try again", "表单已过期或并非来自 Gridline，请刷新页面后重试";
    "error.invalid_credentials" => "Wrong username or password", "用户名或密码错误";
    "error.invalid_token" => "The token is unknown, expired or revoked", "令牌无效、已过期或已被吊销";
    "error.account_disabled" => "This account is disabled", "此账号已被停用";
    "error.internal" => "Something went wrong on our side; the error has been logged", "服务器内部错误，已记录日志";
    "error.unavailable" => "The database cannot be reached", "无法连接数据库";
    "error.bad_query" => "A query parameter is invalid", "查询参数无效";
    "error.bad_path" => "The address contains an invalid identifier", "地址中的标识符无效";

    // Punctuation that differs between the languages.
    "punct.colon" => ": ", "：";

    // Short titles of problems whose full message needs parameters.
    "title.payload_too_large" => "The request body is too large", "请求体过大";
    "title.unsupported_media_type" => "Unsupported media type", "不支持的媒体类型";
    "title.version_conflict" => "Someone else changed this record", "该记录已被他人修改";
    "title.duplicate" => "A value is already in use", "值已被占用";
    "title.has_dependents" => "The record is still in use", "该记录仍在使用中";
    "title.rate_limited" => "Too many attempts", "尝试次数过多";

    // Why access was refused.
    "deny.sign_in_required" => "sign-in required", "需要登录";
    "deny.not_permitted" => "your role may not do this", "您的角色无此权限";
    "deny.out_of_scope" => "this lies outside your area or organization", "超出您的辖区或所属单位范围";
    "deny.not_cleared" => "this data is classified above your clearance", "该数据的密级高于您的权限";

    // Data classification.
    "classification.public" => "Public", "公开";
    "classification.internal" => "Internal", "内部";
    "classification.restricted" => "Restricted", "受限";
    "classification.confidential" => "Confidential", "机密";

    // Jurisdiction levels.
    "level.city" => "city", "市";
    "level.district" => "district", "区";
    "level.sub_district" => "sub-district", "街道";
    "level.community" => "community", "社区";
    "level.grid" => "grid", "网格";

    // Organization kinds.
    "org_kind.government_office" => "Government office", "政府机关";
    "org_kind.department" => "Department", "职能部门";
    "org_kind.residents_committee" => "Residents' committee", "居民委员会";
    "org_kind.villagers_committee" => "Villagers' committee", "村民委员会";
    "org_kind.utility" => "Public utility", "公用事业单位";
    "org_kind.enterprise" => "Enterprise", "企业";
    "org_kind.property_company" => "Property company", "物业服务企业";
    "org_kind.owners_committee" => "Owners' committee", "业主委员会";
    "org_kind.ngo" => "Social organization", "社会组织";
    "org_kind.volunteer_team" => "Volunteer team", "志愿服务队";
    "org_kind.mutual_aid_group" => "Mutual-aid group", "互助小组";
    "org_kind.health_facility" => "Health facility", "医疗卫生机构";
    "org_kind.school" => "School", "学校";
    "org_kind.rescue_team" => "Rescue team", "救援队伍";

    // Sectors.
    "sector.emergency_management" => "Emergency management", "应急管理";
    "sector.health" => "Health", "卫生健康";
    "sector.public_security" => "Public security", "公安";
    "sector.fire_rescue" => "Fire and rescue", "消防救援";
    "sector.water_affairs" => "Water affairs", "水务";
    "sector.meteorology" => "Meteorology", "气象";
    "sector.transport" => "Transport", "交通";
    "sector.power" => "Power supply", "电力";
    "sector.gas" => "Gas supply", "燃气";
    "sector.water_supply" => "Water supply", "供水";
    "sector.telecom" => "Telecommunications", "通信";
    "sector.housing" => "Housing and construction", "住房城乡建设";
    "sector.civil_affairs" => "Civil affairs", "民政";
    "sector.market_regulation" => "Market regulation", "市场监管";
    "sector.environment" => "Ecology and environment", "生态环境";
    "sector.greening" => "Greening and city appearance", "绿化市容";
    "sector.education" => "Education", "教育";
    "sector.other" => "Other", "其他";

    // Member roles.
    "member_role.duty_officer" => "Duty officer", "值班员";
    "member_role.cadre" => "Community cadre", "社区干部";
    "member_role.grid_member" => "Grid member", "网格员";
    "member_role.information_reporter" => "Information reporter", "信息报告员";
    "member_role.police" => "Community police", "社区民警";
    "member_role.owners_committee_member" => "Owners' committee member", "业委会委员";
    "member_role.property_staff" => "Property staff", "物业人员";
    "member_role.firefighter" => "Firefighter", "消防救援人员";
    "member_role.micro_fire_station" => "Micro fire station member", "微型消防站队员";
    "member_role.medical" => "Medical staff", "医护人员";
    "member_role.volunteer" => "Volunteer", "志愿者";
    "member_role.building_leader" => "Building-group leader", "楼组长";
    "member_role.first_responder" => "First responder", "应急第一响应人";
    "member_role.liaison" => "Department liaison", "部门联络员";

    // Member status.
    "member_status.active" => "Available", "可调用";
    "member_status.unavailable" => "Unavailable", "暂不可用";
    "member_status.deployed" => "Deployed", "执行任务中";
    "member_status.inactive" => "Inactive", "已停用";

    // Credential state.
    "credential_state.valid" => "Valid", "有效";
    "credential_state.expiring_soon" => "Expiring soon", "即将过期";
    "credential_state.expired" => "Expired", "已过期";

    // Team kinds and tiers.
    "team_kind.standing" => "Standing force", "综合性常备力量";
    "team_kind.professional" => "Professional team", "专业应急救援队伍";
    "team_kind.grassroots" => "Grassroots team", "基层应急救援队伍";
    "team_kind.volunteer" => "Volunteer team", "志愿者队伍";
    "team_kind.unit" => "Unit team", "单位应急救援队伍";
    "team_kind.social" => "Social-force team", "社会应急力量";
    "team_tier.community" => "Community force", "社区常备力量";
    "team_tier.professional" => "Professional force", "专业力量";

    // Account roles.
    "role.admin" => "Administrator", "系统管理员";
    "role.duty_officer" => "Duty officer", "值班员";
    "role.community_cadre" => "Community cadre", "社区干部";
    "role.grid_member" => "Grid member", "网格员";
    "role.department_liaison" => "Department liaison", "部门联络员";
    "role.volunteer" => "Volunteer", "志愿者";
    "role.enterprise" => "Enterprise", "企业";
    "role.auditor" => "Auditor", "审计员";

    // Kinds of resource.
    "resource.jurisdiction" => "jurisdiction", "辖区";
    "resource.organization" => "organization", "组织";
    "resource.member" => "member", "成员";
    "resource.team" => "team", "队伍";
    "resource.account" => "account", "账号";
    "resource.api_token" => "API token", "API 令牌";
    "resource.audit_log" => "audit log", "审计日志";
    "resource.event" => "event", "事件";

    // Command line.
    "cli.first_admin" => "First administrator account created. Username: {username}  Password: {password}  (shown once; change it after signing in)", "已创建首个管理员账号。用户名：{username}  密码：{password}（仅显示一次，请登录后修改）";
    "cli.listening" => "Gridline is listening on {url}", "Gridline 正在监听 {url}";
    "cli.database" => "Database: {database}", "数据库：{database}";
    "cli.migrated" => "Database schema is up to date (version {version})", "数据库结构已是最新（版本 {version}）";
    "cli.user_created" => "Account {username} created", "已创建账号 {username}";
    "cli.password_changed" => "Password of {username} changed", "已修改 {username} 的密码";
    "cli.granted" => "Granted {role} to {username}", "已授予 {username} {role} 角色";
    "cli.audit_ok" => "Audit chain intact: {count} records verified", "审计链完整：已校验 {count} 条记录";
    "cli.audit_broken" => "Audit chain broken at record {seq}: {problem}", "审计链在第 {seq} 条记录处断裂：{problem}";
    "cli.import_summary" => "Imported {imported} boundaries ({created} new, {updated} updated, {unchanged} unchanged); {rejected} rejected", "已导入 {imported} 个边界（新增 {created}，更新 {updated}，未变 {unchanged}）；拒绝 {rejected} 个";
    "cli.import_rejected" => "Feature {index}: {message}", "第 {index} 个要素：{message}";
    "cli.shutting_down" => "Shutting down", "正在关闭";
    "audit_break.sequence_gap" => "a record is missing or was inserted (expected record {expected})", "有记录缺失或被插入（应为第 {expected} 条）";
    "audit_break.prev_hash_mismatch" => "the previous record was replaced or removed", "前一条记录被替换或删除";
    "audit_break.hash_mismatch" => "this record was edited after it was written", "该记录在写入后被修改";
}
