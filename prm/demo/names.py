"""Name and organisation lists for the demo hospital, as (Thai, romanised) pairs.

Thai given names are grouped by generation because Thai naming fashion changed a lot:
a 70-year-old is more likely a สมชาย, a 10-year-old a ภาคิน. Romanisations follow the
spellings Thais commonly put in their passports, not one strict system.
"""

from __future__ import annotations

from dataclasses import dataclass

Name = tuple[str, str]  # (Thai script, romanised)

# Born before ~1970.
MALE_OLD: list[Name] = [
    ("สมชาย", "Somchai"), ("สมศักดิ์", "Somsak"), ("สมพงษ์", "Somphong"),
    ("สมบัติ", "Sombat"), ("ประเสริฐ", "Prasert"), ("บุญมี", "Bunmee"),
    ("บุญเลิศ", "Boonlert"), ("ทองดี", "Thongdee"), ("มานพ", "Manop"),
    ("ไพโรจน์", "Pairoj"), ("ปรีชา", "Preecha"), ("สมหมาย", "Sommai"),
    ("บุญชู", "Boonchu"), ("ชาตรี", "Chatri"), ("อำนาจ", "Amnat"),
    ("อนันต์", "Anan"), ("ประสิทธิ์", "Prasit"), ("สมเกียรติ", "Somkiat"),
    ("บรรจง", "Banjong"), ("สุเมธ", "Sumet"), ("ทวีศักดิ์", "Taweesak"),
    ("ไพศาล", "Phaisan"), ("สุวิทย์", "Suwit"), ("ประยูร", "Prayoon"),
    ("เฉลิม", "Chalerm"), ("สมพร", "Somporn"),
]
# Born ~1970–1995.
MALE_MID: list[Name] = [
    ("วิชัย", "Wichai"), ("สุชาติ", "Suchat"), ("สุรชัย", "Surachai"),
    ("ชัยวัฒน์", "Chaiwat"), ("อนุชา", "Anucha"), ("อภิชาติ", "Aphichat"),
    ("กิตติพงษ์", "Kittiphong"), ("ณัฐวุฒิ", "Nattawut"), ("ปิยะพงษ์", "Piyaphong"),
    ("วรวุฒิ", "Worawut"), ("ศุภชัย", "Supachai"), ("สุทธิพงษ์", "Sutthiphong"),
    ("อดิศักดิ์", "Adisak"), ("เอกชัย", "Ekkachai"), ("วีระ", "Weera"),
    ("ชาญชัย", "Chanchai"), ("สุรศักดิ์", "Surasak"), ("นพดล", "Noppadon"),
    ("ยุทธนา", "Yutthana"), ("ธวัชชัย", "Thawatchai"), ("เกรียงไกร", "Kriangkrai"),
    ("ศักดิ์ชัย", "Sakchai"), ("วสันต์", "Wasan"), ("วิทยา", "Witthaya"),
    ("อรรถพล", "Atthaphon"), ("สิทธิชัย", "Sitthichai"), ("เฉลิมชัย", "Chalermchai"),
    ("พิชิต", "Phichit"),
]
# Born after ~1995.
MALE_NEW: list[Name] = [
    ("ธนากร", "Thanakorn"), ("ธีรพงษ์", "Theeraphong"), ("ณัฐพล", "Nattaphon"),
    ("พงศกร", "Phongsakorn"), ("ภานุวัฒน์", "Phanuwat"), ("จักรพันธ์", "Chakkaphan"),
    ("ธนวัฒน์", "Thanawat"), ("ภูมิพัฒน์", "Phumiphat"), ("ปกรณ์", "Pakorn"),
    ("พีรพล", "Peeraphon"), ("กฤษดา", "Kritsada"), ("จิรายุ", "Jirayu"),
    ("ภัทรพล", "Phattharaphon"), ("รัฐพล", "Rattaphon"), ("ศิวกร", "Siwakorn"),
    ("ธีรภัทร", "Theeraphat"), ("กันตภณ", "Kantaphon"), ("ภาคิน", "Phakin"),
    ("ปุณณวิช", "Punnawit"), ("ณภัทร", "Naphat"), ("ธนบดี", "Thanabodi"),
    ("ชยพล", "Chayaphon"), ("ก้องภพ", "Kongphop"), ("ภูริ", "Phuri"),
    ("ธีรเดช", "Theeradet"),
]
FEMALE_OLD: list[Name] = [
    ("สมศรี", "Somsri"), ("บุญเรือน", "Bunruean"), ("มาลี", "Malee"),
    ("สุนีย์", "Sunee"), ("ประนอม", "Pranom"), ("ทองใบ", "Thongbai"),
    ("คำปุน", "Khampun"), ("จันทร์เพ็ญ", "Chanphen"), ("สมใจ", "Somjai"),
    ("วันเพ็ญ", "Wanphen"), ("อำไพ", "Amphai"), ("บัวผัน", "Buaphan"),
    ("สำราญ", "Samran"), ("ประไพ", "Prapai"), ("เพ็ญศรี", "Phensri"),
    ("ลำดวน", "Lamduan"), ("สายสุนีย์", "Saisunee"), ("นงลักษณ์", "Nongluck"),
    ("อุไร", "Urai"), ("สุภาพ", "Suphap"), ("ทองสุข", "Thongsuk"),
    ("พยอม", "Phayom"), ("มณี", "Manee"), ("ราตรี", "Ratree"),
    ("บุญเพ็ง", "Bunpheng"),
]
FEMALE_MID: list[Name] = [
    ("สุภาพร", "Supaporn"), ("วิไลวรรณ", "Wilaiwan"), ("กาญจนา", "Kanchana"),
    ("จิราพร", "Jiraporn"), ("ศิริพร", "Siriporn"), ("ปราณี", "Pranee"),
    ("รัชนี", "Ratchanee"), ("อรุณี", "Arunee"), ("นภาพร", "Napaporn"),
    ("พรทิพย์", "Pornthip"), ("วรรณา", "Wanna"), ("สุกัญญา", "Sukanya"),
    ("ดวงใจ", "Duangjai"), ("ปิยะนุช", "Piyanuch"), ("อัญชลี", "Anchalee"),
    ("ยุพิน", "Yupin"), ("เยาวลักษณ์", "Yaowalak"), ("นิตยา", "Nittaya"),
    ("พัชรี", "Patcharee"), ("รุ่งนภา", "Rungnapa"), ("ขวัญใจ", "Kwanjai"),
    ("สุดารัตน์", "Sudarat"), ("จันทร์จิรา", "Chanjira"), ("อารีรัตน์", "Areerat"),
    ("ธิดารัตน์", "Thidarat"),
]
FEMALE_NEW: list[Name] = [
    ("ณัฐธิดา", "Natthida"), ("ชนิดา", "Chanida"), ("พิมพ์ชนก", "Pimchanok"),
    ("ปภาวรินทร์", "Paphawarin"), ("กัญญาณัฐ", "Kanyanat"), ("ธนพร", "Thanaporn"),
    ("ศศิธร", "Sasithorn"), ("อภิญญา", "Aphinya"), ("ชุติมา", "Chutima"),
    ("ณัฐณิชา", "Natnicha"), ("พิชญา", "Pitchaya"), ("วรรณิดา", "Wannida"),
    ("กมลชนก", "Kamonchanok"), ("สุพิชชา", "Suphitcha"), ("ภัทรวดี", "Phatthrawadee"),
    ("ปุณยวีร์", "Punyawee"), ("ณิชาภัทร", "Nichaphat"), ("อรณิชา", "Onnicha"),
    ("ธัญชนก", "Thanchanok"), ("ขวัญข้าว", "Khwankhao"), ("พรรษา", "Phansa"),
    ("เบญญาภา", "Benyapha"), ("มนัสนันท์", "Manatsanan"), ("กานต์ธิดา", "Kanthida"),
    ("ศิรประภา", "Siraprapha"),
]

FAMILY_NAMES: list[Name] = [
    ("ใจดี", "Jaidee"), ("รักไทย", "Rakthai"), ("ศรีสุข", "Srisuk"),
    ("สุขสวัสดิ์", "Suksawat"), ("วงศ์สวัสดิ์", "Wongsawat"), ("แก้วมณี", "Kaewmanee"),
    ("ทองคำ", "Thongkham"), ("บุญมา", "Bunma"), ("บุญยืน", "Bunyuen"),
    ("มีสุข", "Meesuk"), ("ศรีวงศ์", "Sriwong"), ("จันทร์แก้ว", "Chankaew"),
    ("พรหมมา", "Phromma"), ("สายทอง", "Saithong"), ("แสงทอง", "Saengthong"),
    ("ทองสุข", "Thongsuk"), ("สมบูรณ์", "Somboon"), ("เจริญสุข", "Charoensuk"),
    ("เจริญผล", "Charoenphon"), ("ประเสริฐสุข", "Prasertsuk"), ("ศรีเมือง", "Srimuang"),
    ("ชัยมงคล", "Chaimongkol"), ("ชัยประเสริฐ", "Chaiprasert"),
    ("วิเศษสุวรรณ", "Wisetsuwan"), ("สุวรรณรัตน์", "Suwannarat"),
    ("สุวรรณศรี", "Suwannasri"), ("รัตนพันธ์", "Rattanaphan"), ("รัตนวงศ์", "Rattanawong"),
    ("อินทร์แก้ว", "Inkaew"), ("อินทรประเสริฐ", "Intharaprasert"),
    ("นาคสวัสดิ์", "Naksawat"), ("ปัญญาดี", "Panyadee"), ("คงเจริญ", "Kongcharoen"),
    ("คงสวัสดิ์", "Kongsawat"), ("มั่นคง", "Mankong"), ("ยิ่งยง", "Yingyong"),
    ("ทองมา", "Thongma"), ("ศรีทอง", "Srithong"), ("เพชรรัตน์", "Phetcharat"),
    ("เพชรสุวรรณ", "Phetsuwan"), ("พึ่งบุญ", "Phuengbun"), ("บุญเรือง", "Bunrueang"),
    ("บุญประเสริฐ", "Bunprasert"), ("บุญศรี", "Bunsri"), ("บุญส่ง", "Bunsong"),
    ("สุขเจริญ", "Sukcharoen"), ("สุขประเสริฐ", "Sukprasert"), ("วงศ์ใหญ่", "Wongyai"),
    ("วงศ์ไทย", "Wongthai"), ("ศรีประเสริฐ", "Sriprasert"), ("ศรีสวัสดิ์", "Srisawat"),
    ("ศรีบุญเรือง", "Sribunrueang"), ("แก้วประเสริฐ", "Kaewprasert"),
    ("แก้วกาญจนา", "Kaewkanchana"), ("ทองประเสริฐ", "Thongprasert"),
    ("ทองอินทร์", "Thong-in"), ("จันทร์เพ็ญ", "Chanphen"), ("จันทร์หอม", "Chanhom"),
    ("พรหมสุวรรณ", "Phromsuwan"), ("ปานทอง", "Panthong"), ("ปานแก้ว", "Pankaew"),
    ("มณีวงศ์", "Maneewong"), ("มณีรัตน์", "Maneerat"), ("นิลสุวรรณ", "Ninsuwan"),
    ("นิลวงศ์", "Ninwong"), ("เขียวสด", "Khiaosot"), ("ขาวสะอาด", "Khaosa-at"),
    ("ดำรงค์", "Damrong"), ("เกษมสุข", "Kasemsuk"), ("เกิดผล", "Koetphon"),
    ("กิตติวงศ์", "Kittiwong"), ("กิตติศักดิ์", "Kittisak"), ("เกียรติสกุล", "Kiattisakul"),
    ("จิตต์ดี", "Jitdee"), ("จิตรประเสริฐ", "Jitprasert"), ("ชุมพล", "Chumphon"),
    ("ชื่นชม", "Chuenchom"), ("ดวงดี", "Duangdee"), ("ดวงแก้ว", "Duangkaew"),
    ("ตั้งใจ", "Tangjai"), ("ตันติวงศ์", "Tantiwong"), ("ตันสกุล", "Tansakul"),
    ("เตชะวงศ์", "Techawong"), ("ทรัพย์สมบูรณ์", "Sapsomboon"), ("ธนสาร", "Thanasan"),
    ("ธรรมรักษ์", "Thammarak"), ("นาคประเสริฐ", "Nakprasert"), ("บัวแก้ว", "Buakaew"),
    ("บัวทอง", "Buathong"), ("ประทุมวงศ์", "Prathumwong"), ("ปทุมทอง", "Pathumthong"),
    ("พลอยงาม", "Ploy-ngam"), ("พูลสวัสดิ์", "Phunsawat"), ("ภักดี", "Phakdee"),
    ("มหาวงศ์", "Mahawong"), ("มีชัย", "Meechai"), ("ยอดดี", "Yoddee"),
    ("รุ่งเรือง", "Rungrueang"), ("รุ่งโรจน์", "Rungroj"), ("ลิ้มเจริญ", "Limcharoen"),
    ("ลีลาวดี", "Leelawadee"), ("วัฒนา", "Watthana"), ("วัฒนสุข", "Watthanasuk"),
    ("วิริยะ", "Wiriya"), ("ศักดิ์ดี", "Sakdee"), ("สกุลไทย", "Sakunthai"),
    ("สมใจ", "Somjai"), ("สว่างวงศ์", "Sawangwong"), ("สายสุวรรณ", "Saisuwan"),
    ("สิงห์ทอง", "Singthong"), ("สีดา", "Sida"), ("สุขใจ", "Sukjai"),
    ("สุดใจ", "Sudjai"), ("หอมจันทร์", "Homchan"), ("อ่อนศรี", "Onsri"),
    ("อยู่สุข", "Yusuk"), ("อุดมสุข", "Udomsuk"), ("อุดมศักดิ์", "Udomsak"),
    ("เอี่ยมสะอาด", "Iamsa-at"), ("โพธิ์ทอง", "Phothong"), ("โพธิ์ศรี", "Phosri"),
    ("ไชยวงศ์", "Chaiwong"), ("ไชยสิทธิ์", "Chaiyasit"), ("แสงอรุณ", "Saeng-arun"),
    ("แสงจันทร์", "Saengchan"), ("ฤทธิ์เดช", "Ritthidet"), ("เรืองศรี", "Ruangsri"),
    ("เรืองชัย", "Ruangchai"), ("คำแก้ว", "Khamkaew"), ("คำมา", "Khamma"),
    ("คำภา", "Khampha"), ("ศรีคำ", "Srikham"), ("บุญทา", "Bunta"),
    ("ปัญญาวงศ์", "Panyawong"), ("อินทะวงศ์", "Inthawong"), ("ทาสุวรรณ", "Thasuwan"),
    ("จันทะวงศ์", "Chanthawong"), ("แซ่ตั้ง", "Saetang"), ("แซ่ลิ้ม", "Saelim"),
    ("แซ่อึ้ง", "Sae-ung"), ("แซ่เฮ้ง", "Saeheng"), ("แซ่โค้ว", "Saekhow"),
    ("แซ่จิว", "Saechiu"), ("ตั้งตระกูล", "Tangtrakul"), ("ลิ่มสกุล", "Limsakul"),
    ("วงศ์สกุล", "Wongsakul"), ("เลิศวิริยะ", "Loetwiriya"), ("ศิริวัฒน์", "Siriwat"),
    ("ศิริพันธ์", "Siriphan"), ("ศิริโชติ", "Sirichot"), ("สิทธิโชค", "Sitthichok"),
    ("อัครเดช", "Akkharadet"), ("พงษ์พานิช", "Phongphanit"), ("พาณิชย์กุล", "Phanitkul"),
    ("ชัยสุวรรณ", "Chaisuwan"), ("ชัยเจริญ", "Chaicharoen"), ("นิมิตรมงคล", "Nimitmongkol"),
    ("มงคลชัย", "Mongkolchai"), ("บำรุงศรี", "Bamrungsri"), ("บำรุงชีพ", "Bamrungchip"),
    ("สมปอง", "Sompong"), ("ทองเจริญ", "Thongcharoen"), ("เหลืองอ่อน", "Lueang-on"),
    ("ศรีนวล", "Srinuan"), ("จำปาทอง", "Champathong"), ("จำปาศรี", "Champasri"),
    ("ดอกไม้", "Dokmai"), ("ไม้งาม", "Mai-ngam"), ("นาคทอง", "Nakthong"),
    ("นาคดี", "Nakdee"), ("พุ่มพวง", "Phumphuang"), ("พุ่มไสว", "Phumsawai"),
    ("ม่วงทอง", "Muangthong"), ("ม่วงศรี", "Muangsri"), ("ละออ", "La-o"),
    ("สอนสุภาพ", "Sonsuphap"), ("อ่อนละมัย", "Onlamai"), ("เสือดำ", "Suedam"),
    ("เสือเหลือง", "Suelueang"), ("ช้างเผือก", "Changphueak"), ("กล้าหาญ", "Klahan"),
    ("เก่งกล้า", "Kengkla"), ("ใจเย็น", "Jaiyen"), ("ใจงาม", "Jaingam"),
    ("ใจมั่น", "Jaiman"), ("ผลดี", "Phondee"), ("ผลประเสริฐ", "Phonprasert"),
    ("พันธ์ดี", "Phandee"), ("พันธุ์ทอง", "Phanthong"), ("มาลัย", "Malai"),
    ("วงศ์คำ", "Wongkham"), ("ศรีจันทร์", "Srichan"), ("ทองใบ", "Thongbai"),
    ("อินทร์ทอง", "Inthong"), ("บุญธรรม", "Buntham"), ("ธรรมวงศ์", "Thammawong"),
    ("คุ้มครอง", "Khumkhrong"), ("คุ้มภัย", "Khumphai"), ("ชูศรี", "Chusri"),
    ("ชูชีพ", "Chuchip"), ("ทับทิม", "Thapthim"), ("นวลจันทร์", "Nuanchan"),
    ("นวลศรี", "Nuansri"), ("บุญญาศิริ", "Bunyasiri"), ("ศรีสมบูรณ์", "Srisomboon"),
    ("สุขสมบูรณ์", "Suksomboon"), ("ทองแท้", "Thongthae"), ("แก้วใส", "Kaewsai"),
    ("ประจำวงศ์", "Prachamwong"),
]

# Foreign patients: (male given, female given, family) pools, names with a Thai
# transliteration because front desks write foreigners' names in Thai script too.
MYANMAR = (
    [("อ่อง", "Aung"), ("จอ", "Kyaw"), ("มิน", "Min"), ("ซอ", "Zaw"), ("เท็ด", "Htet"),
     ("โก", "Ko"), ("หน่าย", "Naing"), ("ตูรา", "Thura")],
    [("ทิดา", "Thida"), ("ซู", "Su"), ("เอ", "Aye"), ("หนิ่น", "Hnin"), ("ขิ่น", "Khin"),
     ("เมย์", "May"), ("นเว", "Nwe"), ("เอ๋", "Ei")],
    [("หน่าย", "Naing"), ("ทุน", "Htun"), ("วิน", "Win"), ("อู", "Oo"), ("มิ้นต์", "Myint"),
     ("เต็ง", "Thein"), ("ลวิน", "Lwin"), ("โซ", "Soe"), ("หม่อง", "Maung"), ("จี", "Kyi")],
)
CAMBODIA = (
    [("สุข", "Sok"), ("ดารา", "Dara"), ("วรรณัก", "Vannak"), ("โสภาล", "Sophal"),
     ("จันทร์", "Chann"), ("พิเสฐ", "Piseth"), ("ฤทธี", "Rithy"), ("วุฒิ", "Vuthy")],
    [("สรีมม", "Sreymom"), ("จันทร์นารี", "Channary"), ("โสเภีย", "Sophea"),
     ("บุปผา", "Bopha"), ("กัญญา", "Kanha"), ("มะลิ", "Malis"), ("ดาลิน", "Dalin"),
     ("สุคันธา", "Sokunthea")],
    [("เจีย", "Chea"), ("สุข", "Sok"), ("คิม", "Kim"), ("เฮง", "Heng"), ("เมียส", "Meas"),
     ("ฉิม", "Chhim"), ("เปน", "Pen"), ("สาม", "Sam"), ("แก้ว", "Keo")],
)
LAOS = (
    [("สมพอน", "Somphone"), ("บุญมี", "Bounmy"), ("คำหล้า", "Khamla"),
     ("พอนสะหวัน", "Phonesavanh"), ("ทองจันทร์", "Thongchanh"), ("แสงเพชร", "Sengphet"),
     ("วันไซ", "Vanxay"), ("สุขสะหวัด", "Souksavath")],
    [("มณีวัน", "Manivanh"), ("คำพอน", "Khamphone"), ("น้อย", "Noy"),
     ("สุภาพอน", "Souphaphone"), ("วิไลวัน", "Vilayvanh"), ("บัวสอน", "Bouasone"),
     ("จันทะลา", "Chanthala"), ("แก้วมณี", "Keomany")],
    [("พรหมจันทร์", "Phommachanh"), ("ศรีสุข", "Sisouk"), ("วงสา", "Vongsa"),
     ("แก้ววิไล", "Keovilay"), ("อินทะวง", "Inthavong"), ("จันทะวง", "Chanthavong"),
     ("แสงดารา", "Sengdara"), ("ดวงมาลา", "Douangmala")],
)
CHINA = (
    [("เว่ย", "Wei"), ("จวิน", "Jun"), ("เหล่ย", "Lei"), ("ห่าว", "Hao"), ("หมิง", "Ming"),
     ("เทา", "Tao")],
    [("น่า", "Na"), ("ฟาง", "Fang"), ("อิง", "Ying"), ("ซิ่ว", "Xiu"), ("ลี่", "Li"),
     ("เหมย", "Mei")],
    [("หวัง", "Wang"), ("หลี่", "Li"), ("จาง", "Zhang"), ("หลิว", "Liu"), ("เฉิน", "Chen"),
     ("หยาง", "Yang"), ("หวง", "Huang"), ("จ้าว", "Zhao")],
)
JAPAN = (
    [("ฮิโรชิ", "Hiroshi"), ("ทาเคชิ", "Takeshi"), ("เคนจิ", "Kenji"), ("ยูโตะ", "Yuto"),
     ("ไดสุเกะ", "Daisuke"), ("ฮารุโตะ", "Haruto")],
    [("ยูกิ", "Yuki"), ("ไอโกะ", "Aiko"), ("ซากุระ", "Sakura"), ("ยุย", "Yui"),
     ("เอมิ", "Emi"), ("นาโอมิ", "Naomi")],
    [("ทานากะ", "Tanaka"), ("ซูซูกิ", "Suzuki"), ("ซาโต้", "Sato"),
     ("ทากาฮาชิ", "Takahashi"), ("วาตานาเบะ", "Watanabe"), ("อิโต้", "Ito"),
     ("ยามาโมโตะ", "Yamamoto"), ("นากามูระ", "Nakamura")],
)
WESTERN = (
    [("จอห์น", "John"), ("เดวิด", "David"), ("ไมเคิล", "Michael"), ("เจมส์", "James"),
     ("โรเบิร์ต", "Robert"), ("ปีเตอร์", "Peter"), ("โทมัส", "Thomas"), ("มาร์ค", "Mark")],
    [("ซาราห์", "Sarah"), ("เอ็มมา", "Emma"), ("เจนนิเฟอร์", "Jennifer"),
     ("เอลิซาเบธ", "Elizabeth"), ("แมรี่", "Mary"), ("ซูซาน", "Susan"), ("ลอร่า", "Laura"),
     ("แอนนา", "Anna")],
    [("สมิธ", "Smith"), ("บราวน์", "Brown"), ("จอห์นสัน", "Johnson"),
     ("วิลเลียมส์", "Williams"), ("เทย์เลอร์", "Taylor"), ("วิลสัน", "Wilson"),
     ("มิลเลอร์", "Miller"), ("เดวีส์", "Davies"), ("คลาร์ก", "Clark"),
     ("วอล์กเกอร์", "Walker")],
)
GERMANY = (
    [("โทมัส", "Thomas"), ("ไมเคิล", "Michael"), ("สเตฟาน", "Stefan"), ("คลาอุส", "Klaus"),
     ("ยูร์เกน", "Juergen"), ("มาร์คุส", "Markus")],
    [("แอนนา", "Anna"), ("ซาบีเนอ", "Sabine"), ("ยูเลีย", "Julia"), ("โมนิกา", "Monika"),
     ("เพตรา", "Petra"), ("คัทธารีนา", "Katharina")],
    [("มึลเลอร์", "Mueller"), ("ชมิดท์", "Schmidt"), ("ชไนเดอร์", "Schneider"),
     ("ฟิชเชอร์", "Fischer"), ("เวเบอร์", "Weber"), ("วากเนอร์", "Wagner")],
)
INDIA = (
    [("ราหุล", "Rahul"), ("อมิต", "Amit"), ("วิเจย์", "Vijay"), ("สัญชัย", "Sanjay")],
    [("ปริยา", "Priya"), ("อัญชลี", "Anjali"), ("เนหา", "Neha"), ("ปูจา", "Pooja")],
    [("ชาร์มา", "Sharma"), ("ปาเทล", "Patel"), ("ซิงห์", "Singh"), ("กุมาร์", "Kumar"),
     ("คุปตา", "Gupta")],
)

NamePools = tuple[list[Name], list[Name], list[Name]]


@dataclass(frozen=True)
class Country:
    """A foreign nationality: how often we see it, its passport shape, its names.

    ``passport`` is a pattern: L a capital letter, # a digit, anything else literal.
    Migrant workers (Myanmar, Cambodia, Laos) often hold social security; expatriates
    and visitors more often an international health insurer.
    """

    code: str
    weight: int
    passport: str
    names: NamePools
    migrant: bool
    thai_speaking: float  # share who would rather be addressed in Thai


COUNTRIES: list[Country] = [
    Country("MM", 35, "ML######", MYANMAR, migrant=True, thai_speaking=0.3),
    Country("KH", 18, "N########", CAMBODIA, migrant=True, thai_speaking=0.3),
    Country("LA", 15, "P#######", LAOS, migrant=True, thai_speaking=0.9),
    Country("CN", 9, "E########", CHINA, migrant=False, thai_speaking=0.05),
    Country("JP", 5, "LL#######", JAPAN, migrant=False, thai_speaking=0.05),
    Country("GB", 5, "#########", WESTERN, migrant=False, thai_speaking=0.05),
    Country("US", 5, "#########", WESTERN, migrant=False, thai_speaking=0.05),
    Country("AU", 2, "PA#######", WESTERN, migrant=False, thai_speaking=0.05),
    Country("DE", 3, "C########", GERMANY, migrant=False, thai_speaking=0.05),
    Country("IN", 3, "L#######", INDIA, migrant=False, thai_speaking=0.05),
]

# First two digits after the leading one of a national ID: the province of registration,
# weighted towards Bangkok and its neighbours (where a demo hospital would be).
PROVINCE_CODES: list[tuple[str, int]] = [
    ("10", 30), ("11", 8), ("12", 8), ("13", 7), ("14", 4), ("20", 5), ("30", 5),
    ("34", 3), ("40", 4), ("41", 3), ("50", 4), ("57", 2), ("65", 2), ("80", 3), ("90", 3),
]

NHSO = "สำนักงานหลักประกันสุขภาพแห่งชาติ (สปสช.)"
SSO = "สำนักงานประกันสังคม"
COMPTROLLER = "กรมบัญชีกลาง"

THAI_INSURERS: list[str] = [
    "เมืองไทยประกันชีวิต", "เอไอเอ ประเทศไทย", "กรุงเทพประกันชีวิต", "ไทยประกันชีวิต",
    "เอฟดับบลิวดี ประกันชีวิต", "อลิอันซ์ อยุธยา ประกันชีวิต", "กรุงไทย-แอกซ่า ประกันชีวิต",
]
INTERNATIONAL_INSURERS: list[str] = [
    "Allianz Care", "Cigna Global", "Bupa Global", "AXA Global Healthcare", "Pacific Cross",
]

# Hospitals that refer social-security patients in (their registered "main" hospital).
REFERRING_HOSPITALS: list[str] = [
    "โรงพยาบาลวิภาวดี", "โรงพยาบาลเกษมราษฎร์ บางแค", "โรงพยาบาลบางมด",
    "โรงพยาบาลนวมินทร์", "โรงพยาบาลเปาโล รังสิต", "โรงพยาบาลกล้วยน้ำไท",
    "โรงพยาบาลราชพฤกษ์", "โรงพยาบาลพระนั่งเกล้า", "โรงพยาบาลนพรัตนราชธานี",
    "โรงพยาบาลปทุมธานี",
]
